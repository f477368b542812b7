import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionOffset } from 'kafkajs'
import { errorMessage } from '../../platform/errors.ts'
import type { Logger } from '../../platform/logger.ts'
import type { EnvelopeCodec } from '../../schemas/src/codec.ts'
import { SchemaError } from '../../schemas/src/errors.ts'
import type { Envelope } from '../../schemas/src/families.ts'
import {
  checkEnvelope,
  parseSampleKey,
  type RejectReason,
  type Rejection,
  type TimeBounds,
} from './admission.ts'
import type { ClickHouseSink } from './clickhouse-sink.ts'
import type { DeadLetter, DeadLetterSink } from './dead-letters.ts'
import { decodeIntent, dedupToken, encodeIntent, type ChunkIntent } from './intent.ts'
import { appendEnvelopeRows, newRowBatch, type RowBatch } from './rows.ts'
import { SequenceGuard } from './sequence-guard.ts'
import { TenantHostLimit } from './tenant-limits.ts'
import { FreshnessHistogram } from './freshness.ts'
import type { LivePublisher } from './live-publisher.ts'
import { CounterRates } from './counter-rates.ts'
import { HostSeriesBudget } from './series-budget.ts'

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
  timeBounds: TimeBounds
  /** Where stored points are published for live charts; none without NATS. */
  live?: LivePublisher
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
  replayedChunks: number
  lastInsertMs: number
  /** Time spent in successful inserts, for a mean insert latency next to `inserts`. */
  insertSeconds: number
}

/**
 * Commit one partition's offset with metadata. kafkajs sends `metadata` in OffsetCommit (see
 * consumer.commitOffsets), but its typings for eachBatch's commit omit the field.
 */
function commitWithMetadata(
  p: EachBatchPayload,
  topic: string,
  partition: number,
  offset: string,
  metadata: string | null,
): Promise<void> {
  const partitions: PartitionOffset[] = [Object.assign({ partition, offset }, { metadata })]
  return p.commitOffsetsIfNecessary({ topics: [{ topic, partitions }] })
}

const RETRY_MIN_MS = 200
const RETRY_MAX_MS = 10_000

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
  private readonly sequences: SequenceGuard
  private readonly hostLimit: TenantHostLimit
  private readonly seriesBudget: HostSeriesBudget
  /** Counter → rate state for the live path; only kept when there is a live path. */
  readonly rates: CounterRates | undefined
  private lastRateLookupLog = 0
  /** Sample → queryable latency of every stored envelope. */
  readonly freshness = new FreshnessHistogram()

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
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.intents = undefined
      this.carry.clear()
      // Another member may have stored more of an agent's envelopes while it owned the partition.
      this.sequences.reset()
      this.hostLimit.reset()
      this.seriesBudget.reset()
      // The hosts this member owns may have changed, and others stored newer values of the ones it keeps.
      this.rates?.reset()
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

  /** Live messages NATS refused; the points themselves were stored. */
  get livePublishFailures(): number {
    return this.o.live?.failures ?? 0
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect()
    await this.admin.disconnect()
    await this.o.deadLetters.stop()
  }

  /**
   * Messages not yet committed by the group, per partition: the end of the partition minus the
   * group's committed offset (or the partition's start when nothing was committed yet).
   */
  async lag(): Promise<{ partition: number; messages: number }[]> {
    const [ends, [committed]] = await Promise.all([
      this.admin.fetchTopicOffsets(this.o.topic),
      this.admin.fetchOffsets({ groupId: this.o.groupId, topics: [this.o.topic] }),
    ])
    return ends.map((e) => {
      const c = Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1')
      const from = c >= 0 ? c : Number(e.low)
      return { partition: e.partition, messages: Math.max(0, Number(e.high) - from) }
    })
  }

  private async pendingIntent(partition: number, committedHint: string): Promise<ChunkIntent | undefined> {
    if (!this.intents) {
      const intents = new Map<number, ChunkIntent>()
      const offsets = await this.admin.fetchOffsets({ groupId: this.o.groupId, topics: [this.o.topic] })
      for (const t of offsets) {
        for (const p of t.partitions) {
          const intent = decodeIntent(p.metadata, p.offset)
          if (intent) intents.set(p.partition, intent)
        }
      }
      this.intents = intents
    }
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
      const rows = await this.decodeChunk(messages.slice(i, end), topic, partition)
      await this.prepareRates(rows)
      // A rebalance while the chunk's lookups ran: its verdicts may rest on cleared state, and the
      // partition may be another member's now. The intent stays, so the owner replays the range.
      if (!p.isRunning() || p.isStale()) return
      const inserted = await this.insertWithRetry(rows, dedupToken(topic, partition, intent), p)
      if (!inserted) return
      this.freshness.observe(rows.log, Date.now())
      this.o.live?.publish(rows, this.rates?.derive(rows.raw))
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
      await this.rates?.prepare(rows.raw)
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
   * Rows of a chunk. What cannot be stored goes to the dead-letter topic first (an undecodable
   * message whole, a refused envelope alone), repeats of envelopes already stored are dropped.
   * Verdicts depend only on the messages and on what is stored, so a replay yields the same rows.
   */
  private async decodeChunk(messages: KafkaMessage[], topic: string, partition: number): Promise<RowBatch> {
    const letters: DeadLetter[] = []
    const decoded: { m: KafkaMessage; envelopes: Envelope[] }[] = []
    for (const m of messages) {
      this.stats.messages++
      if (!m.value) continue
      try {
        decoded.push({ m, envelopes: this.o.codec.decodeAll(m.value) })
      } catch (err) {
        if (!(err instanceof SchemaError)) throw err
        this.stats.decodeErrors++
        letters.push({
          value: m.value,
          key: m.key,
          reason: err.code,
          detail: err.message,
          source: { topic, partition, offset: m.offset },
        })
      }
    }
    const all = decoded.flatMap((d) => d.envelopes)
    await this.sequences.prepare(all)
    await this.hostLimit.prepare(all)
    await this.seriesBudget.prepare(
      all.map((e) => ({ tenant: e.tenant, host: e.host_id })),
      all.reduce((min, e) => Math.min(min, e.ts_us), Number.POSITIVE_INFINITY),
    )
    const rows = newRowBatch()
    for (const { m, envelopes } of decoded) {
      const key = parseSampleKey(m.key)
      for (const env of envelopes) {
        const source = { topic, partition, offset: m.offset }
        const refuse = (r: Rejection): void => {
          letters.push({ value: this.o.codec.encode(env), key: m.key, ...r, source })
        }
        const refused = checkEnvelope(env, key, Number(m.timestamp), this.o.timeBounds, this.o.topicTenant)
        if (refused) {
          refuse(refused)
          continue
        }
        if (!this.sequences.admit(env)) {
          this.stats.duplicateEnvelopes++
          continue
        }
        if (!this.hostLimit.admit(env)) {
          refuse({
            reason: 'TENANT_HOST_LIMIT',
            detail: `tenant ${JSON.stringify(env.tenant)} already has ${String(this.hostLimit.maxHosts)} hosts; ${JSON.stringify(env.host_id)} is new`,
          })
          continue
        }
        // The tenant is the key's (checked equal above), never the sender's field alone.
        const before = { raw: rows.raw.length, log: rows.log.length }
        const unstored = appendEnvelopeRows(
          rows,
          env,
          key?.tenant ?? env.tenant,
          { partition, offset: m.offset },
          this.o.maxSeriesPerEnvelope,
        )
        if (unstored) {
          refuse(unstored)
          continue
        }
        if (!this.seriesBudget.admit(rows.raw.slice(before.raw))) {
          rows.raw.length = before.raw
          rows.log.length = before.log
          refuse({
            reason: 'HOST_SERIES_LIMIT',
            detail: `host ${JSON.stringify(env.host_id)} of tenant ${JSON.stringify(key?.tenant ?? env.tenant)} has ${String(this.seriesBudget.count(key?.tenant ?? env.tenant, env.host_id))} series in the last ${String(this.seriesBudget.windowS)} s; this sample's new ones would pass ${String(this.seriesBudget.maxSeries)}`,
          })
          continue
        }
        this.stats.envelopes++
      }
    }
    if (letters.length > 0) {
      await this.o.deadLetters.send(letters)
      for (const l of letters) this.stats.rejected[l.reason] = (this.stats.rejected[l.reason] ?? 0) + 1
      this.logRejections(letters)
    }
    return rows
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
        this.stats.rows += rows.raw.length
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
