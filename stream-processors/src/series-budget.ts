import type { SeriesRef } from './rows.ts'
import type { HostRef } from './counter-rates.ts'

/**
 * Per host (tenant NUL host), when each series (metric NUL labels) was last seen, in µs of sample
 * time, for series with a point at or after `sinceUs`.
 */
export type StoredSeries = (hosts: HostRef[], sinceUs: number) => Promise<Map<string, Map<string, number>>>

export function hostSeriesKey(tenant: string, host: string): string {
  return `${tenant}\u0000${host}`
}

const SWEEP_EVERY_MS = 60_000

interface HostSeries {
  /** Series → last seen (µs of sample time). */
  series: Map<string, number>
  /** The newest sample time seen for the host: the sweep's clock. */
  newestUs: number
}

/**
 * The cardinality guard over time: a host may have at most `maxSeries` series with a point in the
 * last `windowS` seconds of sample time. `TOO_MANY_SERIES` bounds one sample; this bounds churn, a
 * host (or a sender) inventing new label values sample after sample, e.g. a device name per sample.
 * With the host cap per tenant it bounds a tenant's series too. A host's partition has one owner, so
 * the owner's count is exact; it is rebuilt from ClickHouse after every rebalance, from the window
 * before the chunk's oldest sample, and the window is read against each sample's own time, so a
 * replay of a chunk is judged on the same series.
 */
export class HostSeriesBudget {
  private readonly hosts = new Map<string, HostSeries>()
  private lastSweepMs = Date.now()

  constructor(
    readonly maxSeries: number,
    readonly windowS: number,
    private readonly stored: StoredSeries,
  ) {}

  reset(): void {
    this.hosts.clear()
  }

  /** Loads, in one query, the series of every host of these envelopes not known since the reset. */
  async prepare(hosts: readonly HostRef[], oldestSampleUs: number): Promise<void> {
    const unknown = new Map<string, HostRef>()
    for (const h of hosts) {
      const key = hostSeriesKey(h.tenant, h.host)
      if (!this.hosts.has(key)) unknown.set(key, h)
    }
    if (unknown.size === 0) return
    const found = await this.stored([...unknown.values()], oldestSampleUs - this.windowS * 1_000_000)
    for (const key of unknown.keys()) {
      // A reset while the lookup ran may have let another chunk load the host since: keep the newer.
      if (this.hosts.has(key)) continue
      const series = found.get(key) ?? new Map<string, number>()
      let newestUs = 0
      for (const last of series.values()) if (last > newestUs) newestUs = last
      this.hosts.set(key, { series, newestUs })
    }
  }

  /**
   * Whether one envelope's rows fit the host's budget; if they do, its series are counted. A host
   * not loaded (a rebalance cleared it mid-chunk) is admitted without counting: the chunk is stale,
   * and the next one loads the host from what is stored.
   */
  admit(series: readonly SeriesRef[], tsUs: number): boolean {
    const first = series[0]
    if (!first) return true
    this.sweep()
    const entry = this.hosts.get(hostSeriesKey(first.tenant, first.host))
    if (!entry) return true
    const known = entry.series
    const keys = series.map((s) => s.hostKey)
    const oldest = tsUs - this.windowS * 1_000_000
    // Series past the window count as new, whether or not the sweep has dropped them yet.
    const isNew = (key: string): boolean => (known.get(key) ?? Number.NEGATIVE_INFINITY) < oldest
    let fresh = 0
    for (const key of keys) if (isNew(key)) fresh++
    if (fresh > 0) {
      let live = 0
      for (const last of known.values()) if (last >= oldest) live++
      if (live + fresh > this.maxSeries) return false
    }
    for (const key of keys) if ((known.get(key) ?? 0) < tsUs) known.set(key, tsUs)
    if (tsUs > entry.newestUs) entry.newestUs = tsUs
    return true
  }

  /**
   * Drops, once a minute, series past the window of their host's newest sample, and hosts silent for
   * a whole window (loaded again from what is stored if they come back), so churn does not grow the
   * state without end.
   */
  private sweep(): void {
    const now = Date.now()
    if (now - this.lastSweepMs < SWEEP_EVERY_MS) return
    this.lastSweepMs = now
    const windowUs = this.windowS * 1_000_000
    let newestOfAll = 0
    for (const entry of this.hosts.values()) if (entry.newestUs > newestOfAll) newestOfAll = entry.newestUs
    for (const [key, entry] of this.hosts) {
      if (entry.newestUs < newestOfAll - windowUs) {
        this.hosts.delete(key)
        continue
      }
      for (const [series, last] of entry.series)
        if (last < entry.newestUs - windowUs) entry.series.delete(series)
    }
  }

  /** Series the host has within the window, as last counted (for the refusal's message). */
  count(tenant: string, host: string): number {
    return this.hosts.get(hostSeriesKey(tenant, host))?.series.size ?? 0
  }
}
