import type { Admin, EachBatchPayload, PartitionOffset } from 'kafkajs'
import { decodeIntent, type ChunkIntent } from './intent.ts'
import { doubled } from '#platform/backoff.ts'
import { sleep } from '#platform/time.ts'

/** Back-off of a partition that retries a failed write while it keeps its group membership. */
export const RETRY_MIN_MS = 200
export const RETRY_MAX_MS = 10_000

/**
 * What of kafkajs's eachBatch payload the commit and retry steps use: narrow, so unit tests can hand
 * them a fake partition.
 */
export type PartitionControl = Pick<
  EachBatchPayload,
  'isRunning' | 'isStale' | 'heartbeat' | 'resolveOffset' | 'commitOffsetsIfNecessary'
>

/**
 * Commit one partition's offset with metadata. kafkajs sends `metadata` in OffsetCommit (see
 * consumer.commitOffsets), but its typings for eachBatch's commit omit the field.
 */
export function commitWithMetadata(
  p: PartitionControl,
  topic: string,
  partition: number,
  offset: string,
  metadata: string | null,
): Promise<void> {
  const partitions: PartitionOffset[] = [Object.assign({ partition, offset }, { metadata })]
  return p.commitOffsetsIfNecessary({ topics: [{ topic, partitions }] })
}

/**
 * Runs `attempt` until it succeeds, with bounded back-off while heartbeating, so a failing write
 * pauses its partition without losing the group membership. `onFailure` hears every failed attempt
 * (count it, log it) before the wait. False when the partition was taken away meanwhile: the next
 * owner replays the chunk.
 */
export async function retryWhileOwned(
  p: PartitionControl,
  attempt: () => Promise<void>,
  onFailure: (err: unknown, retryInMs: number) => void,
): Promise<boolean> {
  let delay = RETRY_MIN_MS
  for (;;) {
    try {
      await attempt()
      return true
    } catch (err) {
      onFailure(err, delay)
      if (!p.isRunning() || p.isStale()) return false
      await sleep(delay)
      await p.heartbeat()
      delay = doubled(delay, RETRY_MAX_MS)
    }
  }
}

/**
 * Messages not yet committed by a group, per partition: the end of the partition minus the group's
 * committed offset (or the partition's start when nothing was committed yet).
 */
export async function groupLag(
  admin: Admin,
  topic: string,
  groupId: string,
): Promise<{ partition: number; messages: number }[]> {
  const [ends, [committed]] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ])
  return ends.map((e) => {
    const c = Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1')
    const from = c >= 0 ? c : Number(e.low)
    return { partition: e.partition, messages: Math.max(0, Number(e.high) - from) }
  })
}

/** The chunk intents (intent.ts) a group has committed, by partition. */
export async function committedIntents(
  admin: Admin,
  topic: string,
  groupId: string,
): Promise<Map<number, ChunkIntent>> {
  const intents = new Map<number, ChunkIntent>()
  for (const t of await admin.fetchOffsets({ groupId, topics: [topic] }))
    for (const p of t.partitions) {
      const intent = decodeIntent(p.metadata, p.offset)
      if (intent) intents.set(p.partition, intent)
    }
  return intents
}
