import { errorMessage } from '#platform/errors.ts'
import type { Logger } from '#platform/logger.ts'
import type { ChunkAdmission } from './chunk-admission.ts'
import type { ClickHouseSink } from './clickhouse-sink.ts'
import type { Chunk, CommitProtocol, PartitionBatch } from './commit-protocol.ts'
import type { CounterRates } from './counter-rates.ts'
import type { DeadLetterDelivery } from './dead-letter-delivery.ts'
import type { FreshnessHistogram } from './freshness.ts'
import { retryWhileOwned, type PartitionControl } from './group-offsets.ts'
import type { LivePublisher } from './live-publisher.ts'
import type { RowBatch } from './rows.ts'

/** What the run loop counts (ProcessorStats' fields of the same names). */
export interface RunnerCounts {
  rows: number
  inserts: number
  insertFailures: number
  replayedChunks: number
  lastInsertMs: number
  insertSeconds: number
}

export interface ChunkRunnerOptions {
  protocol: CommitProtocol
  admission: ChunkAdmission
  deadLetters: DeadLetterDelivery
  sink: Pick<ClickHouseSink, 'write'>
  stats: RunnerCounts
  logger: Logger
  freshness: FreshnessHistogram
  rates?: CounterRates
  live?: LivePublisher
}

/**
 * The processor's eachBatch, as kafkajs's runner is its consumer's: the commit protocol cuts the
 * batch into chunks, and each is admitted, its dead letters written, inserted under the chunk's
 * token (retried while ClickHouse refuses: the partition pauses, the member keeps heartbeating) and
 * published live, before the protocol commits past it.
 */
export class ChunkRunner {
  private lastRateLookupLog = 0

  constructor(private readonly o: ChunkRunnerOptions) {}

  eachBatch(p: PartitionBatch): Promise<void> {
    return this.o.protocol.run(p, (chunk) => this.store(p, chunk))
  }

  private async store(p: PartitionBatch, chunk: Chunk): Promise<boolean> {
    const { topic, partition } = p.batch
    if (chunk.replay) this.o.stats.replayedChunks++
    const admitted = await this.o.admission.judge(chunk.messages, topic, partition)
    const { rows } = admitted
    let inserted: boolean
    try {
      // Dead letters first: once the chunk's next offset is committed they could not be sent again.
      if (!(await this.o.deadLetters.deliver(admitted.letters, partition, p))) return false
      await this.prepareRates(rows)
      // A rebalance while the chunk's lookups ran: its verdicts may rest on cleared state, and the
      // partition may be another member's now. The intent stays, so the owner replays the range.
      if (!p.isRunning() || p.isStale()) return false
      inserted = await this.insert(rows, chunk.token, p)
    } catch (err) {
      // Its envelopes were admitted but not stored: the retry must not drop them as repeats.
      admitted.forget()
      throw err
    }
    if (!inserted) return false
    this.o.freshness.observe(rows.log, Date.now())
    this.o.live?.publish(rows, this.o.rates?.derive(rows))
    return true
  }

  /**
   * Reads the stored latest values of the chunk's hosts new to this member, before the chunk itself
   * is stored (after, the chunk would be its own previous value). The live path is best effort: when
   * they cannot be read, rates come from what this member saw itself and the partition moves on.
   */
  private async prepareRates(rows: RowBatch): Promise<void> {
    try {
      await this.o.rates?.prepare(rows)
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

  /** Retried while the partition is ours, so a slow or absent ClickHouse pauses the group member. */
  private insert(rows: RowBatch, token: string, p: PartitionControl): Promise<boolean> {
    const { stats } = this.o
    return retryWhileOwned(
      p,
      async () => {
        const t0 = performance.now()
        await this.o.sink.write(rows, token)
        stats.lastInsertMs = performance.now() - t0
        stats.insertSeconds += stats.lastInsertMs / 1000
        stats.inserts++
        stats.rows += rows.values.length
      },
      (err, retryInMs) => {
        stats.insertFailures++
        this.o.logger.warn(
          { error: errorMessage(err), token, retryInMs },
          'ClickHouse insert failed; retrying',
        )
      },
    )
  }
}
