import { metricInfo } from '#schemas/src/node-exporter.ts'
import type { RowBatch, SeriesRef } from './rows.ts'
import type { RatePoint } from '#schemas/src/live.ts'

/** A host within its tenant: the unit of rate state, as a host's envelopes all go to one partition. */
export interface HostRef {
  tenant: string
  host: string
}

/** The latest stored value of a counter series. */
export interface CounterPoint {
  tsUs: number
  value: number
}

/** Latest stored value per series key (`seriesKey`) of these hosts' counters, from ClickHouse. */
export type StoredCounters = (hosts: HostRef[]) => Promise<Map<string, CounterPoint>>

// The rate tuple is part of the live message (schemas/src/live.ts); re-exported for the processor's modules.
export type { RatePoint }

export interface RateStats {
  rates: number
  resets: number
  wraps: number
  /** Rates not produced: the point was older than the last one (a replay, a late sample) or absurd. */
  dropped: { out_of_order: number; absurd: number }
}

const TWO_32 = 2 ** 32
/**
 * How close to 2^32 a counter must have been, and how close to 0 it must be after, for a decrease to
 * read as a 32-bit wrap: 2^28 (268 M) either side. Wider, a 64-bit counter that happened to sit at a
 * few billion when its host rebooted would read as a wrap and spike the live rate.
 */
const WRAP_MARGIN = 2 ** 28
/**
 * How far back a series' latest value still counts: the stored lookup's window and the sweep's. Two
 * minutes of raw rows is what a rebalance costs to read back (a longer gap just loses one rate point).
 */
export const COUNTER_LOOKBACK_S = 120
const SWEEP_EVERY_MS = 60_000

export function seriesKey(tenant: string, host: string, metric: string, labels: string): string {
  return `${tenant}\u0000${host}\u0000${metric}\u0000${labels}`
}

function hostKey(h: HostRef): string {
  return `${h.tenant}\u0000${h.host}`
}

/**
 * The increase of a counter from `prev` to `value`. A decrease is a reset (the counter restarted from
 * zero, so the increase is the new value), as Prometheus reads it, unless it looks like a 32-bit
 * counter wrapping: the previous value in the top margin of the 32-bit range and the new one in the
 * bottom margin (WRAP_MARGIN), where a reset would have had to happen just as the counter neared 2^32.
 */
export function counterIncrease(
  prev: number,
  value: number,
): { increase: number; kind: 'ok' | 'reset' | 'wrap' } {
  if (value >= prev) return { increase: value - prev, kind: 'ok' }
  if (prev < TWO_32 && prev >= TWO_32 - WRAP_MARGIN && value < WRAP_MARGIN)
    return { increase: TWO_32 - prev + value, kind: 'wrap' }
  return { increase: value, kind: 'reset' }
}

/**
 * Turns the counters of stored rows into per-second rates for the live path. State is the latest
 * value per series of the hosts this member owns; after a rebalance (`reset`) it is rebuilt from what
 * ClickHouse holds, host by host as they appear, so the first point of a host after it moved between
 * members gets its rate too. A point no newer than the series' latest (a replayed chunk, a late
 * sample) yields no rate: live rates are at most once, like live points.
 */
export class CounterRates {
  private readonly latest = new Map<string, CounterPoint>()
  private readonly knownHosts = new Set<string>()
  private readonly counterMetric = new Map<string, boolean>()
  private lastSweepMs = Date.now()
  readonly stats: RateStats = { rates: 0, resets: 0, wraps: 0, dropped: { out_of_order: 0, absurd: 0 } }

  constructor(
    private readonly stored: StoredCounters,
    /** Rates above this many per second are dropped as absurd (no host moves 10 TB a second). */
    private readonly maxPerSecond = 1e13,
  ) {}

  reset(): void {
    this.latest.clear()
    this.knownHosts.clear()
  }

  private isCounter(metric: string): boolean {
    let counter = this.counterMetric.get(metric)
    if (counter === undefined) {
      counter = metricInfo(metric)?.type === 'counter'
      this.counterMetric.set(metric, counter)
    }
    return counter
  }

  /** Loads, in one query, the stored counters of every host of these rows not seen since the reset. */
  async prepare(rows: RowBatch): Promise<void> {
    const unknown = new Map<string, HostRef>()
    let last: SeriesRef | undefined
    for (const s of rows.series) {
      if (s === last) continue
      last = s
      const key = `${s.tenant}\u0000${s.host}`
      if (!this.knownHosts.has(key) && !unknown.has(key)) unknown.set(key, { tenant: s.tenant, host: s.host })
    }
    if (unknown.size === 0) return
    const found = await this.stored([...unknown.values()])
    for (const [key, point] of found) {
      const current = this.latest.get(key)
      if (current === undefined || current.tsUs < point.tsUs) this.latest.set(key, point)
    }
    for (const h of unknown.values()) this.knownHosts.add(hostKey(h))
  }

  /**
   * Forgets series silent for longer than the lookback, so hosts that come and go do not grow the
   * state without end; a host back after that gets its rates from its second point on.
   */
  private sweep(): void {
    const now = Date.now()
    if (now - this.lastSweepMs < SWEEP_EVERY_MS) return
    this.lastSweepMs = now
    const oldest = (now - COUNTER_LOOKBACK_S * 1000) * 1000
    for (const [key, point] of this.latest) if (point.tsUs < oldest) this.latest.delete(key)
  }

  /** Rates of the counter rows, per tenant and host; advances each series' latest value. */
  derive(rows: RowBatch): Map<string, RatePoint[]> {
    this.sweep()
    const byHost = new Map<string, RatePoint[]>()
    const n = rows.values.length
    for (let i = 0; i < n; i++) {
      const s = rows.series[i] as SeriesRef
      const { tenant, metric, host, labels } = s
      if (!this.isCounter(metric)) continue
      const key = s.key
      const tsUs = rows.tsUs[i] ?? 0
      const value = rows.values[i] ?? 0
      const prev = this.latest.get(key)
      if (prev !== undefined && tsUs <= prev.tsUs) {
        this.stats.dropped.out_of_order++
        continue
      }
      this.latest.set(key, { tsUs, value })
      if (prev === undefined) continue
      const { increase, kind } = counterIncrease(prev.value, value)
      if (kind === 'reset') this.stats.resets++
      else if (kind === 'wrap') this.stats.wraps++
      const perSecond = increase / ((tsUs - prev.tsUs) / 1e6)
      if (!Number.isFinite(perSecond) || perSecond > this.maxPerSecond) {
        this.stats.dropped.absurd++
        continue
      }
      const h = `${tenant}\u0000${host}`
      let points = byHost.get(h)
      if (!points) byHost.set(h, (points = []))
      points.push([metric, labels, tsUs, perSecond])
      this.stats.rates++
    }
    return byHost
  }
}
