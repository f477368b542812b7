import type { Batch, KafkaMessage } from 'kafkajs'
import { commitWithMetadata, type PartitionControl } from './group-offsets.ts'
import { dedupToken, encodeIntent, type ChunkIntent } from './intent.ts'

/** One partition's fetched batch, as kafkajs's eachBatch hands it (a fake in unit tests). */
export interface PartitionBatch extends PartitionControl {
  batch: Pick<Batch, 'topic' | 'partition' | 'messages' | 'lastOffset'>
}

/** A chunk of one partition fixed as [intent.first, intent.last], to be stored under `token`. */
export interface Chunk {
  messages: KafkaMessage[]
  intent: ChunkIntent
  /** The insert deduplication token: derived from the range alone, so a replay carries the same. */
  token: string
  /** Whether the range is an unfinished intent found committed (a crash or a rebalance replays it). */
  replay: boolean
}

/**
 * Stores a chunk (admission, dead letters, insert with `chunk.token`). True once it is stored; false
 * when the partition was taken away meanwhile, and nothing is committed past the intent then.
 */
export type StoreChunk = (chunk: Chunk) => Promise<boolean>

export interface CommitProtocolOptions {
  /** The intents the group has committed, by partition (group-offsets.ts committedIntents). */
  readIntents: () => Promise<Map<number, ChunkIntent>>
  /** How many messages a new chunk takes at most (a replayed one takes its whole range). */
  maxMessages: number
}

/**
 * The exactly-once commit protocol of one consumer group, per partition, in the place of kafkajs's
 * offset manager (autoCommit off):
 * 1. a chunk of messages is fixed as [first, last] and that intent is committed as the offset
 *    metadata of `first` (intent.ts);
 * 2. it is stored with the deduplication token of the range;
 * 3. only then is `last + 1` committed, without metadata.
 * A crash or rebalance at any point leaves the intent committed, and whoever resumes the partition
 * (`pending`, read once per group generation) replays exactly that range under the same token, which
 * ClickHouse drops as the repeat it is.
 *
 * `run` is the processor's loop over a fetched batch; the tier feeder cuts its batches its own way
 * and uses the steps (`pending`, `recordIntent`, `complete`) alone.
 */
export class CommitProtocol {
  /** Pending intent per partition, read from the committed metadata once per group generation. */
  private intents: Map<number, ChunkIntent> | undefined
  /** Messages of a replayed chunk that arrived split over two fetches. */
  private readonly carry = new Map<number, KafkaMessage[]>()

  constructor(private readonly o: CommitProtocolOptions) {}

  /** A new group generation: another member may have left intents, and held messages may be another's. */
  reset(): void {
    this.intents = undefined
    this.carry.clear()
  }

  /** The unfinished intent of `partition`, if it starts at `first`, the offset about to be read. */
  async pending(partition: number, first: string): Promise<ChunkIntent | undefined> {
    this.intents ??= await this.o.readIntents()
    const intent = this.intents.get(partition)
    // Only an intent that starts at the offset we are about to read is still pending.
    return intent?.first === first ? intent : undefined
  }

  /** Step 1: the range is fixed before anything of it is stored. */
  recordIntent(p: PartitionControl, topic: string, partition: number, intent: ChunkIntent): Promise<void> {
    return commitWithMetadata(p, topic, partition, intent.first, encodeIntent(intent))
  }

  /** Step 3: after the insert, the next offset without metadata; the intent is done. */
  async complete(p: PartitionControl, topic: string, partition: number, intent: ChunkIntent): Promise<void> {
    await commitWithMetadata(p, topic, partition, (BigInt(intent.last) + 1n).toString(), null)
    this.intents?.delete(partition)
  }

  /**
   * Cuts a fetched batch into chunks and takes each through the three steps, stopping when the
   * partition is taken away or a chunk could not be stored (the intent stays for the next owner).
   * A pending intent is replayed as exactly its range: when the batch ends inside it, its messages
   * are held for the next fetch and nothing is committed.
   */
  async run(p: PartitionBatch, store: StoreChunk): Promise<void> {
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
      let intent = await this.pending(partition, firstMsg.offset)
      const replay = intent !== undefined
      let end: number
      if (intent) {
        if (BigInt(p.batch.lastOffset()) < BigInt(intent.last)) {
          // The replayed chunk is not all here yet: hold it and fetch on, committing nothing.
          this.carry.set(partition, messages.slice(i))
          p.resolveOffset(p.batch.lastOffset())
          return
        }
        end = i
        while (end < messages.length && BigInt(messages[end]?.offset ?? '0') <= BigInt(intent.last)) end++
      } else {
        end = Math.min(i + this.o.maxMessages, messages.length)
        intent = { first: firstMsg.offset, last: messages[end - 1]?.offset ?? firstMsg.offset }
        await this.recordIntent(p, topic, partition, intent)
      }
      const token = dedupToken(topic, partition, intent)
      if (!(await store({ messages: messages.slice(i, end), intent, token, replay }))) return
      await this.complete(p, topic, partition, intent)
      p.resolveOffset(intent.last)
      await p.heartbeat()
      i = end
    }
  }
}
