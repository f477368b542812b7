import { errorMessage } from '#platform/errors.ts'
import type { Logger } from '#platform/logger.ts'
import type { RejectReason } from './admission.ts'
import type { DeadLetter, DeadLetterSink } from './dead-letters.ts'
import { retryWhileOwned, type PartitionControl } from './group-offsets.ts'
import { LogEvery } from '#platform/log-every.ts'

/** What delivery counts (ProcessorStats' fields of the same names). */
export interface DeadLetterCounts {
  rejected: Partial<Record<RejectReason, number>>
  deadLetterFailures: number
}

/**
 * Writes a chunk's dead letters before its insert (once the chunk's next offset is committed they
 * could not be sent again), retrying for as long as it takes: a partition whose refused records
 * cannot be kept stops here (nothing past them is committed, the group member stays alive) and
 * alarms, through an error log line per attempt and the stalled-partitions gauge, rather than skip
 * them.
 */
export class DeadLetterDelivery {
  /** Partitions waiting for their dead letters to be written (the alarm gauge). */
  private readonly stalled = new Set<number>()
  private readonly rejectLog = new LogEvery(10_000, 0)

  constructor(
    private readonly sink: DeadLetterSink,
    private readonly stats: DeadLetterCounts,
    private readonly logger: Logger,
  ) {}

  /** Partitions stopped because their dead letters cannot be written. */
  get stalledPartitions(): number {
    return this.stalled.size
  }

  /** False when the partition was taken away meanwhile (the next owner replays the chunk). */
  async deliver(letters: DeadLetter[], partition: number, p: PartitionControl): Promise<boolean> {
    if (letters.length === 0) return true
    const sent = await retryWhileOwned(
      p,
      () => this.sink.send(letters),
      (err, retryInMs) => {
        this.stats.deadLetterFailures++
        this.stalled.add(partition)
        this.logger.error(
          {
            error: errorMessage(err),
            partition,
            letters: letters.length,
            deadLetterTopic: this.sink.topic,
            retryInMs,
          },
          'dead letters could not be written: the partition stops here, commits nothing past them and retries',
        )
      },
    )
    if (!sent) {
      this.stalled.delete(partition)
      return false
    }
    if (this.stalled.delete(partition))
      this.logger.info({ partition }, 'dead letters written; the partition goes on')
    for (const l of letters) this.stats.rejected[l.reason] = (this.stats.rejected[l.reason] ?? 0) + 1
    this.logRejections(letters)
    return true
  }

  /** One line per 10 s at most: a producer sending garbage at 10 Hz must not flood the log. */
  private logRejections(letters: DeadLetter[]): void {
    if (!this.rejectLog.due()) return
    const first = letters[0]
    if (!first) return
    this.logger.warn(
      { reason: first.reason, ...first.source, inChunk: letters.length, total: this.stats.rejected },
      `dead-lettered: ${first.detail}`,
    )
  }
}
