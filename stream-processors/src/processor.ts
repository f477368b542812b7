import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import { errorMessage } from '../../platform/errors.ts'
import type { Logger } from '../../platform/logger.ts'
import type { AdmissionRule } from '../../schemas/src/admission.ts'
import type { EnvelopeCodec } from '../../schemas/src/codec.ts'
import { SchemaError } from '../../schemas/src/errors.ts'
import type { Envelope } from '../../schemas/src/families.ts'
import { checkEnvelope, parseSampleKey, type RejectReason, type Rejection } from './admission.ts'
import type { ClickHouseSink } from './clickhouse-sink.ts'
import type { DeadLetter, DeadLetterSink } from './dead-letters.ts'
import {
  commitWithMetadata,
  committedIntents,
  groupLag,
  RETRY_MAX_MS,
  RETRY_MIN_MS,
} from './group-offsets.ts'
import { dedupToken, encodeIntent, type ChunkIntent } from './intent.ts'
import { appendEnvelopeRows, newRowBatch, SeriesRegistry, truncateBatch, type RowBatch } from './rows.ts'
import { SequenceGuard } from './sequence-guard.ts'
import { TenantHostLimit } from './tenant-limits.ts'
import { FreshnessHistogram } from './freshness.ts'
import { AgentStates } from './agent-states.ts'
import type { LivePublisher } from './live-publisher.ts'
import { CounterRates } from './counter-rates.ts'
import { HostSeriesBudget } from './series-budget.ts'
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
 * Kafka → ClickHouse with an exactly-once effect:
 * 1. a chunk of one partition's messages is fixed as [first, last] and that intent is committed as
 *    offset metadata (see intent.ts);
 * 2. its rows are inserted with a deduplication token derived from the range;
 * 3. only then is `last + 1` committed.
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
  /** Pending intent per partition, read from the committed metadata once per group generation. */
  private intents: Map<number, ChunkIntent> | undefined
  /** Messages of a replayed chunk that arrived split over two fetches. */
  private readonly carry = new Map<number, KafkaMessage[]>()
  private lastRejectLog = 0
  /** Partitions waiting for their dead letters to be written (the alarm gauge). */
  private readonly stalled = new Set<number>()
  private readonly sequences: SequenceGuard
  private readonly hostLimit: TenantHostLimit
  private readonly seriesBudget: HostSeriesBudget
  /** Counter → rate state for the live path; only kept when there is a live path. */
  readonly rates: CounterRates | undefined
  private lastRateLookupLog = 0
  /** Sample → queryable latency of every stored envelope. */
  readonly freshness = new FreshnessHistogram()
  /** Which agents are behind, silent or spooling, as counts (the pipeline view). */
  readonly agents = new AgentStates()
  /** Series met so far, so a value costs a lookup rather than a label sort and a hash. */
  private readonly registry: SeriesRegistry

  constructor(private readonly o: ProcessorOptions) {
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.max(1_000, Math.floor(o.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: 250,
      retry: { retries: 10 },
    })
    this.admin = o.kafka.admin()
    this.sequences = new SequenceGuard((agents) => o.sink.storedSequences(agents))
    this.hostLimit = new TenantHostLimit(o.maxHostsPerTenant, (tenants) => o.sink.storedHosts(tenants))
    this.seriesBudget = new HostSeriesBudget(o.maxSeriesPerHost, o.seriesWindowS, (hosts, sinceUs) =>
      o.sink.storedSeries(hosts, sinceUs),
    )
    this.rates = o.live && new CounterRates((hosts) => o.sink.storedCounters(hosts))
    this.registry = o.registry ?? new SeriesRegistry()
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.intents = undefined
      this.carry.clear()
      // Another member may have stored more of an agent's envelopes while it owned the partition.
      this.sequences.reset()
      this.hostLimit.reset()
      this.seriesBudget.reset()
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
      eachBatch: (payload) => this.handleBatch(payload),
    })
  }

  /** Partitions stopped because their dead letters cannot be written. */
  get deadLetterStalledPartitions(): number {
    return this.stalled.size
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

  private async pendingIntent(partition: number, committedHint: string): Promise<ChunkIntent | undefined> {
    this.intents ??= await committedIntents(this.admin, this.o.topic, this.o.groupId)
    const intent = this.intents.get(partition)
    // Only an intent that starts at the offset we are about to read is still pending.
    return intent?.first === committedHint ? intent : undefined
  }

  private async handleBatch(p: EachBatchPayload): Promise<void> {
    const { topic, partition } = p.batch
    const carried = this.carry.get(partition)
    this.carry.delete(partition)
    const messages = carried ? [...carried, ...p.batch.messages] : p.batch.messages
    if (messages.length === 0) return
    let i = 0
    while (i < messages.length) {
      if (!p.isRunning() || p.isStale()) return
      const firstMsg = messages[i]
      if (!firstMsg) return
      let intent = await this.pendingIntent(partition, firstMsg.offset)
      let end: number
      if (intent && intent.first === firstMsg.offset) {
        if (BigInt(p.batch.lastOffset()) < BigInt(intent.last)) {
          // The replayed chunk is not all here yet: hold it and fetch on, committing nothing.
          this.carry.set(partition, messages.slice(i))
          p.resolveOffset(p.batch.lastOffset())
          return
        }
        end = i
        while (end < messages.length && BigInt(messages[end]?.offset ?? '0') <= BigInt(intent.last)) end++
        this.stats.replayedChunks++
      } else {
        end = Math.min(i + this.o.maxMessagesPerInsert, messages.length)
        intent = { first: firstMsg.offset, last: messages[end - 1]?.offset ?? firstMsg.offset }
        await commitWithMetadata(p, topic, partition, intent.first, encodeIntent(intent))
      }
      const chunk = await this.decodeChunk(messages.slice(i, end), topic, partition)
      const { rows } = chunk
      let inserted: boolean
      try {
        // Dead letters first: once the chunk's next offset is committed they could not be sent again.
        if (!(await this.deliverDeadLetters(chunk.letters, partition, p))) return
        await this.prepareRates(rows)
        // A rebalance while the chunk's lookups ran: its verdicts may rest on cleared state, and the
        // partition may be another member's now. The intent stays, so the owner replays the range.
        if (!p.isRunning() || p.isStale()) return
        inserted = await this.insertWithRetry(rows, dedupToken(topic, partition, intent), p)
      } catch (err) {
        // Its envelopes were admitted but not stored: the retry must not drop them as repeats.
        this.sequences.forget(chunk.admitted)
        throw err
      }
      if (!inserted) return
      this.freshness.observe(rows.log, Date.now())
      this.o.live?.publish(rows, this.rates?.derive(rows))
      const next = (BigInt(intent.last) + 1n).toString()
      await commitWithMetadata(p, topic, partition, next, null)
      this.intents?.delete(partition)
      p.resolveOffset(intent.last)
      await p.heartbeat()
      i = end
    }
  }

  /**
   * Reads the stored latest values of the chunk's hosts new to this member, before the chunk itself
   * is stored (after, the chunk would be its own previous value). The live path is best effort: when
   * they cannot be read, rates come from what this member saw itself and the partition moves on.
   */
  private async prepareRates(rows: RowBatch): Promise<void> {
    try {
      await this.rates?.prepare(rows)
    } catch (err) {
      const now = Date.now()
      if (now - this.lastRateLookupLog > 10_000) {
        this.lastRateLookupLog = now
        this.o.logger.warn(
          { err: String(err) },
          'stored counter values unreadable; live rates from this member only',
        )
      }
    }
  }

  /**
   * Rows of a chunk, and the dead letters of what cannot be stored: an undecodable message whole, a
   * refused record alone as the raw bytes it arrived in (never re-encoded: a record refused for a
   * value its type cannot hold could not be encoded again), under the tenant of the message key.
   * Repeats of envelopes already stored are dropped. Verdicts depend only on the messages and on what
   * is stored, so a replay yields the same rows for the same deduplication token.
   */
  private async decodeChunk(
    messages: KafkaMessage[],
    topic: string,
    partition: number,
  ): Promise<{ rows: RowBatch; letters: DeadLetter[]; admitted: Envelope[] }> {
    const letters: DeadLetter[] = []
    const candidates: { m: KafkaMessage; env: Envelope; bytes: Buffer; tenant: string }[] = []
    for (const m of messages) {
      this.stats.messages++
      if (!m.value) continue
      const source = { topic, partition, offset: m.offset }
      const key = parseSampleKey(m.key)
      const tenant = key?.tenant ?? ''
      let records: { envelope: Envelope; bytes: Buffer }[]
      try {
        records = this.o.codec.splitRecords(m.value)
      } catch (err) {
        // Anything the decoder throws is the message's fault as far as this partition is concerned:
        // thrown out of eachBatch it would stop the partition for good on every retry.
        this.stats.decodeErrors++
        letters.push({
          value: m.value,
          key: m.key,
          tenant,
          ...(err instanceof SchemaError
            ? { reason: err.code, detail: err.message }
            : { reason: 'INVALID_RECORD', detail: `the decoder failed: ${errorMessage(err)}` }),
          source,
        })
        continue
      }
      for (const { envelope: env, bytes } of records) {
        let refused: Rejection | undefined
        try {
          refused =
            checkEnvelope(env, key, this.o.topicTenant) ??
            this.o.admission.check(env, bytes.length, Number(m.timestamp))
        } catch (err) {
          refused = {
            reason: 'INVALID_RECORD',
            detail: `the record could not be judged: ${errorMessage(err)}`,
          }
        }
        if (refused) letters.push({ value: bytes, key: m.key, tenant, ...refused, source })
        // The tenant is the key's (checked equal above), never the sender's field alone.
        else candidates.push({ m, env, bytes, tenant })
      }
    }
    const all = candidates.map((c) => c.env)
    await this.sequences.prepare(all)
    await this.hostLimit.prepare(all)
    await this.seriesBudget.prepare(
      all.map((e) => ({ tenant: e.tenant, host: e.host_id })),
      all.reduce((min, e) => Math.min(min, e.ts_us), Number.POSITIVE_INFINITY),
    )
    const rows = newRowBatch(this.registry)
    const admitted: Envelope[] = []
    for (const { m, env, bytes, tenant } of candidates) {
      const refuse = (r: Rejection): void => {
        letters.push({
          value: bytes,
          key: m.key,
          tenant,
          ...r,
          source: { topic, partition, offset: m.offset },
        })
      }
      if (!this.sequences.admit(env)) {
        this.stats.duplicateEnvelopes++
        continue
      }
      admitted.push(env)
      if (!this.hostLimit.admit(env)) {
        refuse({
          reason: 'TENANT_HOST_LIMIT',
          detail: `tenant ${JSON.stringify(tenant)} already has ${String(this.hostLimit.maxHosts)} hosts; ${JSON.stringify(env.host_id)} is new`,
        })
        continue
      }
      const before = { points: rows.values.length, log: rows.log.length }
      const unstored = appendEnvelopeRows(
        rows,
        env,
        tenant,
        { partition, offset: m.offset, topic },
        this.o.maxSeriesPerEnvelope,
      )
      if (unstored) {
        refuse(unstored)
        continue
      }
      if (!this.seriesBudget.admit(rows.series.slice(before.points), env.ts_us)) {
        truncateBatch(rows, before.points, before.log)
        refuse({
          reason: 'HOST_SERIES_LIMIT',
          detail: `host ${JSON.stringify(env.host_id)} of tenant ${JSON.stringify(tenant)} has ${String(this.seriesBudget.count(tenant, env.host_id))} series in the last ${String(this.seriesBudget.windowS)} s; this sample's new ones would pass ${String(this.seriesBudget.maxSeries)}`,
        })
        continue
      }
      this.stats.envelopes++
      this.agents.observe(tenant, env, Date.now())
    }
    return { rows, letters, admitted }
  }

  /**
   * Writes a chunk's dead letters, retrying for as long as it takes: a partition whose refused
   * records cannot be kept stops here (nothing past them is committed, the group member stays alive)
   * and alarms, through an error log line per attempt and the stalled-partitions gauge, rather than
   * skip them. False when the partition was taken away meanwhile (the next owner replays the chunk).
   */
  private async deliverDeadLetters(
    letters: DeadLetter[],
    partition: number,
    p: EachBatchPayload,
  ): Promise<boolean> {
    if (letters.length === 0) return true
    let delay = RETRY_MIN_MS
    for (;;) {
      try {
        await this.o.deadLetters.send(letters)
        break
      } catch (err) {
        this.stats.deadLetterFailures++
        this.stalled.add(partition)
        this.o.logger.error(
          {
            error: errorMessage(err),
            partition,
            letters: letters.length,
            deadLetterTopic: this.o.deadLetters.topic,
            retryInMs: delay,
          },
          'dead letters could not be written: the partition stops here, commits nothing past them and retries',
        )
        if (!p.isRunning() || p.isStale()) {
          this.stalled.delete(partition)
          return false
        }
        await new Promise((r) => setTimeout(r, delay))
        await p.heartbeat()
        delay = Math.min(delay * 2, RETRY_MAX_MS)
      }
    }
    if (this.stalled.delete(partition))
      this.o.logger.info({ partition }, 'dead letters written; the partition goes on')
    for (const l of letters) this.stats.rejected[l.reason] = (this.stats.rejected[l.reason] ?? 0) + 1
    this.logRejections(letters)
    return true
  }

  /** Retry with bounded back-off while heartbeating, so a slow or absent ClickHouse pauses the group member. */
  private async insertWithRetry(rows: RowBatch, token: string, p: EachBatchPayload): Promise<boolean> {
    let delay = RETRY_MIN_MS
    for (;;) {
      const t0 = performance.now()
      try {
        await this.o.sink.write(rows, token)
        this.stats.lastInsertMs = performance.now() - t0
        this.stats.insertSeconds += this.stats.lastInsertMs / 1000
        this.stats.inserts++
        this.stats.rows += rows.values.length
        return true
      } catch (err) {
        this.stats.insertFailures++
        this.o.logger.warn(
          { error: errorMessage(err), token, retryInMs: delay },
          'ClickHouse insert failed; retrying',
        )
        if (!p.isRunning() || p.isStale()) return false
        await new Promise((r) => setTimeout(r, delay))
        await p.heartbeat()
        delay = Math.min(delay * 2, RETRY_MAX_MS)
      }
    }
  }

  /** One line per 10 s at most: a producer sending garbage at 10 Hz must not flood the log. */
  private logRejections(letters: DeadLetter[]): void {
    const now = Date.now()
    if (now - this.lastRejectLog < 10_000) return
    this.lastRejectLog = now
    const first = letters[0]
    if (!first) return
    this.o.logger.warn(
      { reason: first.reason, ...first.source, inChunk: letters.length, total: this.stats.rejected },
      `dead-lettered: ${first.detail}`,
    )
  }
}
