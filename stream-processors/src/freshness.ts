import type { ExposedPoint } from '#platform/prometheus-text.ts'
import { dateTime64ToMicros, type SampleLogRow } from './rows.ts'

/** Upper bounds in seconds; the brief's freshness target (p99 ≤ 2 s) falls between two of them. */
const BUCKETS = [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300] as const

/**
 * How old samples are when they become queryable: for every stored envelope, the time from its sample
 * timestamp to the end of the insert that stored it, as a Prometheus histogram
 * (`procstream_processor_freshness_seconds`), so a p99 can be read with histogram_quantile.
 */
export class FreshnessHistogram {
  private readonly counts = new Array<number>(BUCKETS.length).fill(0)
  private count = 0
  private sum = 0

  observe(log: readonly SampleLogRow[], insertedAtMs: number): void {
    for (const row of log) {
      const age = Math.max(0, (insertedAtMs * 1000 - dateTime64ToMicros(row[6])) / 1e6)
      this.count++
      this.sum += age
      for (let i = 0; i < BUCKETS.length; i++)
        if (age <= (BUCKETS[i] ?? 0)) this.counts[i] = (this.counts[i] ?? 0) + 1
    }
  }

  points(name = 'procstream_processor_freshness_seconds'): ExposedPoint[] {
    const points: ExposedPoint[] = BUCKETS.map((le, i) => ({
      name: `${name}_bucket`,
      labels: { le: String(le) },
      value: this.counts[i] ?? 0,
    }))
    points.push({ name: `${name}_bucket`, labels: { le: '+Inf' }, value: this.count })
    points.push({ name: `${name}_sum`, labels: {}, value: this.sum })
    points.push({ name: `${name}_count`, labels: {}, value: this.count })
    return points
  }

  /** The smallest bucket bound holding at least quantile q of the observations (an upper estimate). */
  quantileUpperBound(q: number): number | undefined {
    if (this.count === 0) return undefined
    for (let i = 0; i < BUCKETS.length; i++) if ((this.counts[i] ?? 0) >= q * this.count) return BUCKETS[i]
    return Number.POSITIVE_INFINITY
  }
}
