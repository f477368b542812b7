import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import { errorMessage } from '#platform/errors.ts'
import type { Logger } from '#platform/logger.ts'
import type { EnvelopeCodec } from '#schemas/src/codec.ts'
import { parseSampleKey } from './admission.ts'
import type { ClickHouseSink } from './clickhouse-sink.ts'
import { CommitProtocol } from './commit-protocol.ts'
import { committedIntents, groupLag, RETRY_MIN_MS, retryWhileOwned } from './group-offsets.ts'
import { dedupToken, type ChunkIntent } from './intent.ts'
import { appendEnvelopeRows, newRowBatch, type SeriesRegistry } from './rows.ts'
import { doubled } from '#platform/backoff.ts'
import { sleep } from '#platform/time.ts'

export interface TierFeederOptions {
  kafka: Kafka
  topic: string
  /** The raw processors' group: the feeder rolls up only what that group has committed. */
  rawGroupId: string
  sink: ClickHouseSink
  codec: EnvelopeCodec
  logger: Logger
  /** How much time a batch of the feed spans, by wall clock while it is gathered (PROCESSOR_TIER_BATCH_MS). */
  batchMs: number
  /** A batch closes at this many messages whatever its span. */
  maxMessages: number
  concurrentPartitions: number
  sessionTimeoutMs: number
  /** Series the raw processor already knows; shared, so a series costs its memory once. */
  registry?: SeriesRegistry
}

export interface TierFeederStats {
  chunks: number
  /** Values fed to the tiers (each becomes part of one row per tier and bucket). */
  values: number
  replayedChunks: number
  insertFailures: number
  /** Times a batch waited for the raw processors to commit its messages. */
  waitsForRaw: number
}

/** The feeder's consumer group beside the raw processors' one. */
export function tierGroupId(rawGroupId: string): string {
  return `${rawGroupId}.tiers`
}

const RAW_POLL_MS = 250

/**
 * Feeds the rollup tiers (metrics 10 s / 1 min / 1 h: the views on `points_tier_feed`) in batches of
 * about `batchMs` of the stream, where the raw processor stores every chunk (about a second) as it
 * comes. A view aggregates one insert at a time, so with a second per insert every series gets a tier
 * row per insert in each of three tiers (4 rows written per value); with ten seconds, 1.4.
 *
 * Exactly once, by the raw processor's own means, in a consumer group of its own: a batch of one
 * partition is fixed as the offset range [first, last], committed as the group's offset metadata
 * (intent.ts), inserted with a token derived from the range, and only then is `last + 1` committed;
 * a crash replays exactly that range with that token, and ClickHouse drops the repeat from the Null
 * table's views. Which envelopes of the range count is read from the sample log (what the raw
 * processor stored from that topic, partition and offset range, by agent and sequence number), never
 * judged again: the tiers hold what raw holds, whatever the sequence guard, the limits and the
 * refusals decided, and a replay reads the same answer. So a batch waits until the raw group has
 * committed past its last offset.
 *
 * A batch is gathered across fetches in memory (offsets resolved, nothing committed). When a
 * partition goes quiet, a timer seeks it back to the batch's first offset: kafkajs hands the same
 * messages again, the batch is now old enough, and it closes.
 */
export class TierFeeder {
  readonly stats: TierFeederStats = {
    chunks: 0,
    values: 0,
    replayedChunks: 0,
    insertFailures: 0,
    waitsForRaw: 0,
  }
  private readonly consumer: Consumer
  private readonly admin: Admin
  private readonly groupId: string
  /** The raw processor's commit protocol, its steps driven by this feeder's own cut of the batches. */
  private readonly protocol: CommitProtocol
  /** Messages gathered per partition, and when the first of them arrived. */
  private readonly held = new Map<number, { messages: KafkaMessage[]; sinceMs: number }>()
  private readonly quietTimers = new Map<number, ReturnType<typeof setTimeout>>()
  /** When the messages a seek brings back first arrived, so the batch is as old as it was. */
  private readonly seekBack = new Map<number, number>()
  private rawCommitted = new Map<number, bigint>()
  private running = false

  constructor(private readonly o: TierFeederOptions) {
    this.groupId = tierGroupId(o.rawGroupId)
    this.consumer = o.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: Math.max(1_000, Math.floor(o.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: 500,
      retry: { retries: 10 },
    })
    this.admin = o.kafka.admin()
    this.protocol = new CommitProtocol({
      readIntents: () => committedIntents(this.admin, o.topic, this.groupId),
      maxMessages: o.maxMessages,
    })
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      this.protocol.reset()
      this.held.clear()
      for (const t of this.quietTimers.values()) clearTimeout(t)
      this.quietTimers.clear()
    })
  }

  async start(): Promise<void> {
    await this.admin.connect()
    await this.startWhereRawIs()
    await this.consumer.connect()
    await this.consumer.subscribe({ topic: this.o.topic, fromBeginning: true })
    this.running = true
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.concurrentPartitions,
      eachBatch: (payload) => this.handleBatch(payload),
    })
  }

  /**
   * A feeder group that has never committed starts where the raw group stands, not at the start of
   * the topic: on an installation upgraded from the layout whose views rolled up every insert, what
   * raw stored before is in the tiers already (copied by migration 6). On a new installation neither
   * group has committed, and both start at the beginning.
   */
  private async startWhereRawIs(): Promise<void> {
    const [mine] = await retried(() =>
      this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.o.topic] }),
    )
    if ((mine?.partitions ?? []).some((p) => Number(p.offset) >= 0)) return
    const [raw] = await retried(() =>
      this.admin.fetchOffsets({ groupId: this.o.rawGroupId, topics: [this.o.topic] }),
    )
    const partitions = (raw?.partitions ?? []).filter((p) => Number(p.offset) >= 0)
    if (partitions.length === 0) return
    try {
      await this.admin.setOffsets({
        groupId: this.groupId,
        topic: this.o.topic,
        partitions: partitions.map((p) => ({ partition: p.partition, offset: p.offset })),
      })
      this.o.logger.info(
        { partitions: partitions.length },
        'tier feeder starts where the raw processors stand',
      )
    } catch (err) {
      // Another member joined first (the group is not empty): it set the offsets before it did.
      this.o.logger.info({ error: errorMessage(err) }, 'tier feeder offsets already set by another member')
    }
  }

  async stop(): Promise<void> {
    this.running = false
    for (const t of this.quietTimers.values()) clearTimeout(t)
    this.quietTimers.clear()
    await this.consumer.disconnect()
    await this.admin.disconnect()
  }

  /** Messages the feeder has not committed yet, per partition (its lag behind the topic). */
  lag(): Promise<{ partition: number; messages: number }[]> {
    return groupLag(this.admin, this.o.topic, this.groupId)
  }

  /** The raw group's next offset to store on this partition, read from the broker when `need` is past it. */
  private async rawNext(partition: number, need: bigint): Promise<bigint> {
    const known = this.rawCommitted.get(partition) ?? -1n
    if (known > need) return known
    const [t] = await this.admin.fetchOffsets({ groupId: this.o.rawGroupId, topics: [this.o.topic] })
    const next = new Map<number, bigint>()
    for (const p of t?.partitions ?? []) next.set(p.partition, BigInt(p.offset))
    this.rawCommitted = next
    return next.get(partition) ?? -1n
  }

  private armQuietTimer(topic: string, partition: number): void {
    if (this.quietTimers.has(partition)) return
    const timer = setTimeout(() => {
      this.quietTimers.delete(partition)
      const held = this.held.get(partition)
      const first = held?.messages[0]
      if (!this.running || !held || !first) return
      // The same messages come back in a fetch of their own, now old enough to close the batch.
      this.held.delete(partition)
      this.seekBack.set(partition, held.sinceMs)
      this.consumer.seek({ topic, partition, offset: first.offset })
    }, this.o.batchMs + 50)
    timer.unref()
    this.quietTimers.set(partition, timer)
  }

  private async handleBatch(p: EachBatchPayload): Promise<void> {
    const { topic, partition } = p.batch
    // A batch fetched before a seek (or a rebalance) is stale: its messages come again after it.
    if (p.batch.messages.length === 0 || !p.isRunning() || p.isStale()) return
    const timer = this.quietTimers.get(partition)
    if (timer) {
      clearTimeout(timer)
      this.quietTimers.delete(partition)
    }
    let held = this.held.get(partition)
    if (!held) {
      held = { messages: [], sinceMs: this.seekBack.get(partition) ?? Date.now() }
      this.seekBack.delete(partition)
      this.held.set(partition, held)
    }
    // A refetch after a seek or a retry can repeat messages already held: keep each offset once.
    const lastHeld = held.messages.at(-1)
    for (const m of p.batch.messages)
      if (!lastHeld || BigInt(m.offset) > BigInt(lastHeld.offset)) held.messages.push(m)
    p.resolveOffset(p.batch.lastOffset())

    while (held.messages.length > 0) {
      if (!p.isRunning() || p.isStale()) return
      const first = held.messages[0] as KafkaMessage
      let intent = await this.protocol.pending(partition, first.offset)
      let replay = false
      if (intent) {
        // A crashed batch is replayed exactly: wait until all of its range is here.
        if (BigInt((held.messages.at(-1) as KafkaMessage).offset) < BigInt(intent.last)) return
        replay = true
      } else {
        const old = Date.now() - held.sinceMs >= this.o.batchMs
        if (!old && held.messages.length < this.o.maxMessages) {
          this.armQuietTimer(topic, partition)
          return
        }
        const lastWanted = held.messages[
          Math.min(held.messages.length, this.o.maxMessages) - 1
        ] as KafkaMessage
        const rawNext = await this.waitForRaw(p, partition, BigInt(first.offset))
        if (rawNext === undefined) return
        const limit = BigInt(lastWanted.offset) < rawNext ? BigInt(lastWanted.offset) : rawNext - 1n
        let end = 0
        while (end < held.messages.length && BigInt((held.messages[end] as KafkaMessage).offset) <= limit)
          end++
        intent = { first: first.offset, last: (held.messages[end - 1] as KafkaMessage).offset }
        await this.protocol.recordIntent(p, topic, partition, intent)
      }
      if (replay && (await this.waitForRaw(p, partition, BigInt(intent.last))) === undefined) return
      let end = 0
      while (
        end < held.messages.length &&
        BigInt((held.messages[end] as KafkaMessage).offset) <= BigInt(intent.last)
      )
        end++
      const chunk = held.messages.slice(0, end)
      if (!(await this.feed(p, topic, partition, intent, chunk))) return
      if (replay) this.stats.replayedChunks++
      await this.protocol.complete(p, topic, partition, intent)
      held.messages = held.messages.slice(end)
      held.sinceMs = Date.now()
      await p.heartbeat()
    }
    this.held.delete(partition)
  }

  /**
   * The raw group's next offset once it is past `offset`, waiting (heartbeating) while it is not:
   * the tiers never run ahead of raw. Undefined when the partition was taken away meanwhile.
   */
  private async waitForRaw(
    p: EachBatchPayload,
    partition: number,
    offset: bigint,
  ): Promise<bigint | undefined> {
    let waited = false
    for (;;) {
      const next = await this.rawNext(partition, offset)
      if (next > offset) return next
      if (!waited) this.stats.waitsForRaw++
      waited = true
      if (!p.isRunning() || p.isStale()) return undefined
      await sleep(RAW_POLL_MS)
      await p.heartbeat()
    }
  }

  /** Decodes a batch, keeps the envelopes raw stored, and feeds them; retried until it is stored. */
  private async feed(
    p: EachBatchPayload,
    topic: string,
    partition: number,
    intent: ChunkIntent,
    messages: KafkaMessage[],
  ): Promise<boolean> {
    return retryWhileOwned(
      p,
      async () => {
        const stored = await this.o.sink.storedEnvelopes(topic, partition, intent.first, intent.last)
        const rows = newRowBatch(this.o.registry)
        for (const m of messages) {
          if (!m.value) continue
          const tenant = parseSampleKey(m.key)?.tenant ?? ''
          let records
          try {
            records = this.o.codec.splitRecords(m.value)
          } catch {
            continue // dead-lettered by the raw processor: nothing of it was stored
          }
          for (const { envelope } of records)
            if (stored.has(`${m.offset}\u0000${envelope.agent_id}\u0000${String(envelope.seq)}`))
              appendEnvelopeRows(rows, envelope, tenant, { partition, offset: m.offset, topic })
        }
        await this.o.sink.writeTiers(rows, `tiers:${dedupToken(topic, partition, intent)}`)
        this.stats.chunks++
        this.stats.values += rows.values.length
      },
      (err, retryInMs) => {
        this.stats.insertFailures++
        this.o.logger.warn(
          { error: errorMessage(err), partition, range: `${intent.first}-${intent.last}`, retryInMs },
          'tier feed failed; retrying',
        )
      },
    )
  }
}

/**
 * A broker call retried while the broker says a retry can help (a coordinator still loading after a
 * start, a leader moving), for up to half a minute.
 */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000
  for (let delay = RETRY_MIN_MS; ; delay = doubled(delay, 2_000)) {
    try {
      return await call()
    } catch (err) {
      const retriable = (err as { retriable?: boolean }).retriable === true
      if (!retriable || Date.now() > deadline) throw err
      await sleep(delay)
    }
  }
}
