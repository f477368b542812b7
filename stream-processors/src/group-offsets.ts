import type { Admin, EachBatchPayload, PartitionOffset } from 'kafkajs'
import { decodeIntent, type ChunkIntent } from './intent.ts'

/** Back-off of a partition that retries a failed write while it keeps its group membership. */
export const RETRY_MIN_MS = 200
export const RETRY_MAX_MS = 10_000

/**
 * Commit one partition's offset with metadata. kafkajs sends `metadata` in OffsetCommit (see
 * consumer.commitOffsets), but its typings for eachBatch's commit omit the field.
 */
export function commitWithMetadata(
  p: EachBatchPayload,
  topic: string,
  partition: number,
  offset: string,
  metadata: string | null,
): Promise<void> {
  const partitions: PartitionOffset[] = [Object.assign({ partition, offset }, { metadata })]
  return p.commitOffsetsIfNecessary({ topics: [{ topic, partitions }] })
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
