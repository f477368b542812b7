import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, PartitionOffset } from 'kafkajs'
import { errorMessage } from '../../platform/errors.ts'
import type { Logger } from '../../platform/logger.ts'
import type { EnvelopeCodec } from '../../schemas/src/codec.ts'
import { SchemaError } from '../../schemas/src/errors.ts'
import type { ClickHouseSink } from './clickhouse-sink.ts'
import { decodeIntent, dedupToken, encodeIntent, type ChunkIntent } from './intent.ts'
import { appendEnvelopeRows, newRowBatch, type RowBatch } from './rows.ts'

export interface ProcessorOptions {
  kafka: Kafka
  topic: string
  groupId: string
  sink: ClickHouseSink
  codec: EnvelopeCodec
  logger: Logger
  maxMessagesPerInsert: number
  sessionTimeoutMs: number
}

export interface ProcessorStats {
  messages: number
  envelopes: number
  rows: number
  inserts: number
  insertFailures: number
  decodeErrors: number
  nonFiniteValues: number
  replayedChunks: number
  lastInsertMs: number
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
    nonFiniteValues: 0,
    replayedChunks: 0,
    lastInsertMs: 0,
  }
  private readonly consumer: Consumer
  private readonly admin: Admin
  /** Pending intent per partition, read from the committed metadata once per group generation. */
  private intents: Map<number, ChunkIntent> | undefined
  /** Messages of a replayed chunk that arrived split over two fetches. */
  private readonly carry = new Map<number, KafkaMessage[]>()
  private lastDecodeLog = 0

  constructor(private readonly o: ProcessorOptions) {
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.max(1_000, Math.floor(o.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: 250,
      retry: { retries: 10 },
    })
    this.admin = o.kafka.admin()
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.intents = undefined
      this.carry.clear()
    })
  }

  async start(): Promise<void> {
    await this.admin.connect()
    await this.consumer.connect()
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.handleBatch(payload),
    })
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect()
    await this.admin.disconnect()
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
      const rows = this.decodeChunk(messages.slice(i, end), partition)
      const inserted = await this.insertWithRetry(rows, dedupToken(topic, partition, intent), p)
      if (!inserted) return
      const next = (BigInt(intent.last) + 1n).toString()
      await commitWithMetadata(p, topic, partition, next, null)
      this.intents?.delete(partition)
      p.resolveOffset(intent.last)
      await p.heartbeat()
      i = end
    }
  }

  private decodeChunk(messages: KafkaMessage[], partition: number): RowBatch {
    const rows = newRowBatch()
    for (const m of messages) {
      this.stats.messages++
      if (!m.value) continue
      let envelopes
      try {
        envelopes = this.o.codec.decodeAll(m.value)
      } catch (err) {
        if (!(err instanceof SchemaError)) throw err
        // Skipped deterministically, so a replay of this range produces the same rows.
        this.stats.decodeErrors++
        this.logDecodeError(err, partition, m.offset)
        continue
      }
      for (const env of envelopes) {
        appendEnvelopeRows(rows, env, env.tenant, { partition, offset: m.offset })
        this.stats.envelopes++
      }
    }
    this.stats.nonFiniteValues += rows.nonFinite
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

  private logDecodeError(err: SchemaError, partition: number, offset: string): void {
    const now = Date.now()
    if (now - this.lastDecodeLog < 10_000) return
    this.lastDecodeLog = now
    this.o.logger.warn({ code: err.code, partition, offset, total: this.stats.decodeErrors }, err.message)
  }
}
