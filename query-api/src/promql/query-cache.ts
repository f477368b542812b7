/**
 * A small, short-lived cache of answers by key, sharing one computation among concurrent askers:
 * a dashboard of twenty panels refreshed by ten viewers asks the same range queries many times.
 * Entries expire after `ttlMs`; past `maxEntries` the oldest goes first. Failures are not kept.
 */
export class QueryCache {
  private readonly entries = new Map<string, { at: number; value: Promise<unknown> }>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    /** Told of every lookup, hit or not, for the query API's /metrics. */
    private readonly onLookup: (hit: boolean) => void = () => undefined,
  ) {}

  get(key: string, compute: () => Promise<unknown>): Promise<unknown> {
    if (this.ttlMs <= 0) return compute()
    const now = Date.now()
    const hit = this.entries.get(key)
    if (hit && now - hit.at < this.ttlMs) {
      this.onLookup(true)
      return hit.value
    }
    this.onLookup(false)
    if (hit) this.entries.delete(key)
    const value = compute()
    this.entries.set(key, { at: now, value })
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key)
    })
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
    return value
  }
}
