import type { Admin, Consumer, Kafka } from 'kafkajs'
import type { Logger } from '#platform/logger.ts'
import type { AdmissionRule } from '#schemas/src/admission.ts'
import type { EnvelopeCodec } from '#schemas/src/codec.ts'
import type { RejectReason } from './admission.ts'
import {
  hostLimitStage,
  keyStage,
  rowsStage,
  ruleStage,
  sequenceStage,
  seriesBudgetStage,
} from './admission-stages.ts'
import { AgentStates } from './agent-states.ts'
import { ChunkAdmission } from './chunk-admission.ts'
import type { ClickHouseSink } from './clickhouse-sink.ts'
import { CommitProtocol } from './commit-protocol.ts'
import { CounterRates } from './counter-rates.ts'
import { DeadLetterDelivery } from './dead-letter-delivery.ts'
import type { DeadLetterSink } from './dead-letters.ts'
import { FreshnessHistogram } from './freshness.ts'
import { committedIntents, groupLag } from './group-offsets.ts'
import type { LivePublisher } from './live-publisher.ts'
import { SeriesRegistry } from './rows.ts'
import { ChunkRunner } from './runner.ts'
import { SequenceGuard } from './sequence-guard.ts'
import { HostSeriesBudget } from './series-budget.ts'
import { TenantHostLimit } from './tenant-limits.ts'
import type { TierFeeder } from './tier-feeder.ts'

export interface ProcessorOptions {
  kafka: Kafka
  topic: string
  /** The one tenant allowed on `topic` (a tenant's direct-produce topic); undefined: the key decides. */
  topicTenant?: string
  groupId: string
  sink: ClickHouseSink
  codec: EnvelopeCodec
  logger: Logger
  maxMessagesPerInsert: number
  /** New hosts past this many per tenant are dead-lettered (TENANT_HOST_LIMIT). */
  maxHostsPerTenant: number
  /** Envelopes with more series than this are dead-lettered (TOO_MANY_SERIES). */
  maxSeriesPerEnvelope: number
  /** Envelopes that would take their host past this many series in the window (HOST_SERIES_LIMIT). */
  maxSeriesPerHost: number
  seriesWindowS: number
  /** Partitions whose chunks are decoded and inserted at the same time. */
  concurrentPartitions: number
  sessionTimeoutMs: number
  deadLetters: DeadLetterSink
  /** What a record must satisfy to be stored, judged against its message's timestamp (schemas/src/admission.ts). */
  admission: AdmissionRule
  /** Where stored points are published for live charts; none without NATS. */
  live?: LivePublisher
  /** Series known to this process (shared with the tier feeder). */
  registry?: SeriesRegistry
  /** The rollup tiers' feeder, started and stopped by the service with the processor. */
  tiers?: TierFeeder
}

export interface ProcessorStats {
  messages: number
  envelopes: number
  rows: number
  inserts: number
  insertFailures: number
  /** Messages that did not decode, dead-lettered whole. */
  decodeErrors: number
  /** Dead letters sent, by reason (a whole message for a decode error, else one envelope). */
  rejected: Partial<Record<RejectReason, number>>
  /** Envelopes an agent sent again (same agent_id, seq at or below one already stored), dropped. */
  duplicateEnvelopes: number
  /** Failed attempts to write dead letters; their partition waits and retries. */
  deadLetterFailures: number
  replayedChunks: number
  lastInsertMs: number
  /** Time spent in successful inserts, for a mean insert latency next to `inserts`. */
  insertSeconds: number
}

/**
 * Kafka → ClickHouse with an exactly-once effect, split the way kafkajs splits its consumer: this
 * class is the group member (consumer, lifecycle, what its health page reads); `runner.ts` is the
 * eachBatch loop; `commit-protocol.ts` the offsets (intent, insert under the range's token, commit);
 * `chunk-admission.ts` and `admission-stages.ts` what is stored, refused or dropped.
 * A crash or rebalance at any point leads to the same range being inserted again with the same token.
 */
export class StreamProcessor {
  readonly stats: ProcessorStats = {
    messages: 0,
    envelopes: 0,
    rows: 0,
    inserts: 0,
    insertFailures: 0,
    decodeErrors: 0,
    rejected: {},
    duplicateEnvelopes: 0,
    deadLetterFailures: 0,
    replayedChunks: 0,
    lastInsertMs: 0,
    insertSeconds: 0,
  }
  private readonly consumer: Consumer
  private readonly admin: Admin
  private readonly protocol: CommitProtocol
  private readonly admission: ChunkAdmission
  private readonly deadLetters: DeadLetterDelivery
  private readonly runner: ChunkRunner
  /** Counter → rate state for the live path; only kept when there is a live path. */
  readonly rates: CounterRates | undefined
  /** Sample → queryable latency of every stored envelope. */
  readonly freshness = new FreshnessHistogram()
  /** Which agents are behind, silent or spooling, as counts (the pipeline view). */
  readonly agents = new AgentStates()

  constructor(private readonly o: ProcessorOptions) {
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.max(1_000, Math.floor(o.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: 250,
      retry: { retries: 10 },
    })
    this.admin = o.kafka.admin()
    this.protocol = new CommitProtocol({
      readIntents: () => committedIntents(this.admin, o.topic, o.groupId),
      maxMessages: o.maxMessagesPerInsert,
    })
    this.admission = new ChunkAdmission({
      codec: o.codec,
      recordChecks: [keyStage(o.topicTenant), ruleStage(o.admission)],
      // In this order: a repeat is dropped before it could count as a new host, and the series budget
      // judges the series the rows stage just appended.
      stages: [
        sequenceStage(new SequenceGuard((agents) => o.sink.storedSequences(agents))),
        hostLimitStage(new TenantHostLimit(o.maxHostsPerTenant, (tenants) => o.sink.storedHosts(tenants))),
        rowsStage(o.maxSeriesPerEnvelope),
        seriesBudgetStage(
          new HostSeriesBudget(o.maxSeriesPerHost, o.seriesWindowS, (hosts, sinceUs) =>
            o.sink.storedSeries(hosts, sinceUs),
          ),
        ),
      ],
      // Series met so far, so a value costs a lookup rather than a label sort and a hash.
      registry: o.registry ?? new SeriesRegistry(),
      stats: this.stats,
      onAdmitted: (c, nowMs) => {
        this.agents.observe(c.tenant, c.envelope, nowMs)
      },
    })
    this.deadLetters = new DeadLetterDelivery(o.deadLetters, this.stats, o.logger)
    this.rates = o.live && new CounterRates((hosts) => o.sink.storedCounters(hosts))
    this.runner = new ChunkRunner({
      protocol: this.protocol,
      admission: this.admission,
      deadLetters: this.deadLetters,
      sink: o.sink,
      stats: this.stats,
      logger: o.logger,
      freshness: this.freshness,
      ...(this.rates && { rates: this.rates }),
      ...(o.live && { live: o.live }),
    })
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.protocol.reset()
      // Another member may have stored more of an agent's envelopes while it owned the partition.
      this.admission.reset()
      // The hosts this member owns may have changed, and others stored newer values of the ones it keeps.
      this.rates?.reset()
      this.agents.reset()
    })
  }

  async start(): Promise<void> {
    await this.o.deadLetters.start()
    await this.admin.connect()
    await this.consumer.connect()
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // Partitions are independent (own intents, own agents), and chdb/ClickHouse overlap their inserts.
      partitionsConsumedConcurrently: this.o.concurrentPartitions,
      eachBatch: (payload) => this.runner.eachBatch(payload),
    })
  }

  /** Partitions stopped because their dead letters cannot be written. */
  get deadLetterStalledPartitions(): number {
    return this.deadLetters.stalledPartitions
  }

  /** Live messages NATS refused; the points themselves were stored. */
  get livePublishFailures(): number {
    return this.o.live?.failures ?? 0
  }

  /** The tier feeder running beside this processor, if any. */
  get tiers(): TierFeeder | undefined {
    return this.o.tiers
  }

  async stop(): Promise<void> {
    await this.o.tiers?.stop()
    await this.consumer.disconnect()
    await this.admin.disconnect()
    await this.o.deadLetters.stop()
  }

  /** Messages not yet committed by the group, per partition. */
  lag(): Promise<{ partition: number; messages: number }[]> {
    return groupLag(this.admin, this.o.topic, this.o.groupId)
  }
}
