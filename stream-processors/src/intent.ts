/**
 * Before a chunk of offsets [first, last] is inserted, the processor commits offset `first` with this
 * intent as the commit's metadata. If it dies before committing `last + 1`, whoever resumes the
 * partition finds the intent and re-inserts exactly the same range, so the deduplication token (and
 * the rows) are identical and ClickHouse drops the repeat. Without it, a resumed consumer could cut
 * the range differently and a token would no longer match.
 */
export interface ChunkIntent {
  first: string
  last: string
}

const PREFIX = 'procstream-intent:v1:'

export function encodeIntent(intent: ChunkIntent): string {
  return `${PREFIX}${intent.first}-${intent.last}`
}

export function decodeIntent(
  metadata: string | null | undefined,
  committedOffset: string,
): ChunkIntent | undefined {
  if (!metadata?.startsWith(PREFIX)) return undefined
  const m = /^(\d+)-(\d+)$/.exec(metadata.slice(PREFIX.length))
  if (!m?.[1] || !m[2]) return undefined
  // An intent only describes the chunk that starts at the committed offset.
  if (m[1] !== committedOffset || BigInt(m[2]) < BigInt(m[1])) return undefined
  return { first: m[1], last: m[2] }
}

export function dedupToken(topic: string, partition: number, intent: ChunkIntent): string {
  return `${topic}/${partition}/${intent.first}-${intent.last}`
}
