import type { RawRow } from './rows.ts'
import { dateTime64ToMicros } from './rows.ts'
import type { HostRef } from './counter-rates.ts'

/** Per host (tenant NUL host), the latest sample time (µs) of each series (metric NUL labels) stored. */
export type StoredSeries = (hosts: HostRef[], windowS: number) => Promise<Map<string, Map<string, number>>>

export function hostSeriesKey(tenant: string, host: string): string {
  return `${tenant}\u0000${host}`
}

/**
 * The cardinality guard over time: a host may have at most `maxSeries` series with a point in the
 * last `windowS` seconds of sample time. `TOO_MANY_SERIES` bounds one sample; this bounds churn, a
 * host (or a sender) inventing new label values sample after sample, e.g. a device name per sample.
 * With the host cap per tenant it bounds a tenant's series too. A host's partition has one owner, so
 * the owner's count is exact; it is rebuilt from ClickHouse after every rebalance. The window is
 * read against each sample's own time, so a replay of the same chunk gets the same verdicts.
 */
export class HostSeriesBudget {
  private readonly hosts = new Map<string, Map<string, number>>()

  constructor(
    readonly maxSeries: number,
    readonly windowS: number,
    private readonly stored: StoredSeries,
  ) {}

  reset(): void {
    this.hosts.clear()
  }

  /** Loads, in one query, the recent series of every host of these rows not seen since the reset. */
  async prepare(hosts: readonly HostRef[]): Promise<void> {
    const unknown = new Map<string, HostRef>()
    for (const h of hosts) {
      const key = hostSeriesKey(h.tenant, h.host)
      if (!this.hosts.has(key)) unknown.set(key, h)
    }
    if (unknown.size === 0) return
    const found = await this.stored([...unknown.values()], this.windowS)
    for (const key of unknown.keys()) this.hosts.set(key, found.get(key) ?? new Map<string, number>())
  }

  /**
   * Whether one envelope's rows fit the host's budget; if they do, its series are counted. Call
   * prepare first. Series quiet for longer than the window are forgotten only when the budget is
   * reached, so the common case (no new series) costs one lookup per row.
   */
  admit(rows: readonly RawRow[]): boolean {
    const first = rows[0]
    if (!first) return true
    const [tenant, , host, , ts] = first
    const tsUs = dateTime64ToMicros(ts)
    let known = this.hosts.get(hostSeriesKey(tenant, host))
    if (!known) this.hosts.set(hostSeriesKey(tenant, host), (known = new Map<string, number>()))
    const fresh: string[] = []
    for (const [, metric, , labels] of rows) {
      const key = `${metric}\u0000${labels}`
      if (!known.has(key)) fresh.push(key)
    }
    if (fresh.length > 0 && known.size + fresh.length > this.maxSeries) {
      const oldest = tsUs - this.windowS * 1_000_000
      for (const [key, last] of known) if (last < oldest) known.delete(key)
      if (known.size + fresh.length > this.maxSeries) return false
    }
    for (const [, metric, , labels] of rows) {
      const key = `${metric}\u0000${labels}`
      if ((known.get(key) ?? 0) < tsUs) known.set(key, tsUs)
    }
    return true
  }

  /** Series the host has within the window, as last counted (for the refusal's message). */
  count(tenant: string, host: string): number {
    return this.hosts.get(hostSeriesKey(tenant, host))?.size ?? 0
  }
}
