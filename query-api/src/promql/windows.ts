import type { Bucket, BucketSeries } from './buckets.ts'

/**
 * Range-vector functions evaluated from bucketed samples (buckets.ts). The window of evaluation k,
 * (T_k − range, T_k], is the run of grid buckets j with lo < j ≤ lo + span, lo = k · stepBuckets +
 * offset:
 * exactly the samples Prometheus 3 puts in the window. Values follow Prometheus's functions.go.
 */
export const RANGE_FUNCTIONS = [
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'sum_over_time',
  'count_over_time',
  'last_over_time',
  'present_over_time',
] as const

export type RangeFunction = (typeof RANGE_FUNCTIONS)[number]

export interface WindowLayout {
  steps: number
  /** Grid buckets between consecutive evaluation times. */
  stepBuckets: number
  /** Buckets before the first window's first. */
  offset: number
  /** Grid buckets in one window. */
  span: number
  /** T_k in ms (shifted by the selector's offset), for the extrapolation of rate and delta. */
  time: (k: number) => number
  /** The window read (from a tier, rounded to whole tier buckets: buckets.ts planRead). */
  rangeMs: number
  /** The window the query asked for; increase and delta are extrapolated to it. */
  requestedRangeMs?: number
}

/** One value per evaluation time, or null where the window has too few samples. */
export function evalWindows(
  fn: RangeFunction | 'instant',
  s: BucketSeries,
  w: WindowLayout,
): (number | null)[] {
  const out = new Array<number | null>(w.steps).fill(null)
  const b = s.buckets
  // Prefix sums over the series' buckets, so each window's count, sum and resets are O(1).
  const n = prefix(b, (x) => x.n)
  const points = prefix(b, (x) => x.points)
  const sum = prefix(b, (x) => x.sum)
  const resets = prefix(b, (x) => x.resets)
  let p = 0
  let q = 0
  for (let k = 0; k < w.steps; k++) {
    const lo = k * w.stepBuckets + w.offset
    const hi = lo + w.span
    while (p < b.length && (b[p] as Bucket).j <= lo) p++
    if (q < p) q = p
    while (q < b.length && (b[q] as Bucket).j <= hi) q++
    if (q === p) continue
    const first = b[p] as Bucket
    const last = b[q - 1] as Bucket
    const count = (n[q] as number) - (n[p] as number)
    // rate's extrapolation reasons about the spacing of the points it sees: for a tier, its buckets.
    const seen = (points[q] as number) - (points[p] as number)
    const endMs = w.time(k)
    const startMs = endMs - w.rangeMs
    switch (fn) {
      case 'instant':
      case 'last_over_time':
        out[k] = last.lastV
        break
      case 'count_over_time':
        out[k] = count
        break
      case 'present_over_time':
        out[k] = 1
        break
      case 'sum_over_time':
        out[k] = (sum[q] as number) - (sum[p] as number)
        break
      case 'avg_over_time':
        out[k] = ((sum[q] as number) - (sum[p] as number)) / count
        break
      case 'min_over_time':
      case 'max_over_time': {
        let m = fn === 'min_over_time' ? first.min : first.max
        for (let i = p + 1; i < q; i++) {
          const x = b[i] as Bucket
          m = fn === 'min_over_time' ? Math.min(m, x.min) : Math.max(m, x.max)
        }
        out[k] = m
        break
      }
      case 'rate':
      case 'increase':
      case 'delta': {
        if (seen < 2) break
        const isCounter = fn !== 'delta'
        const corr = isCounter ? (resets[q] as number) - (resets[p] as number) - first.firstReset : 0
        out[k] = extrapolatedRate(
          {
            firstV: first.firstV,
            firstT: first.firstT / 1000,
            lastV: last.lastV,
            lastT: last.lastT / 1000,
            count: seen,
          },
          corr,
          startMs,
          endMs,
          w.rangeMs,
          isCounter,
          fn === 'rate',
        )
        // rate is per second of whatever window was read; an increase is over the one asked for.
        if (fn !== 'rate' && w.requestedRangeMs !== undefined)
          out[k] = (out[k] as number) * (w.requestedRangeMs / w.rangeMs)
        break
      }
      case 'irate':
      case 'idelta': {
        // The sample before the last: in the last bucket, or else the one before it if it is in the window.
        if (last.points < 2 && !(last.prevT > startMs * 1000)) break
        const dtMs = (last.lastT - last.prevT) / 1000
        if (dtMs <= 0) break
        let v = last.lastV - last.prevV
        if (fn === 'irate') {
          if (last.lastV < last.prevV) v = last.lastV
          v /= dtMs / 1000
        }
        out[k] = v
        break
      }
    }
  }
  return out
}

function prefix(b: readonly Bucket[], f: (x: Bucket) => number): Float64Array {
  const out = new Float64Array(b.length + 1)
  for (let i = 0; i < b.length; i++) out[i + 1] = (out[i] as number) + f(b[i] as Bucket)
  return out
}

/**
 * Prometheus 3's extrapolatedRate: the increase between the window's first and last samples (plus the
 * values lost at counter resets), extrapolated towards the window's edges when the samples reach
 * close to them, never below zero for a counter. Times in ms.
 */
export function extrapolatedRate(
  s: { firstV: number; firstT: number; lastV: number; lastT: number; count: number },
  resetCorrection: number,
  rangeStartMs: number,
  rangeEndMs: number,
  rangeMs: number,
  isCounter: boolean,
  isRate: boolean,
): number {
  const result = s.lastV - s.firstV + resetCorrection
  let durationToStart = (s.firstT - rangeStartMs) / 1000
  let durationToEnd = (rangeEndMs - s.lastT) / 1000
  const sampledInterval = (s.lastT - s.firstT) / 1000
  const averageDurationBetweenSamples = sampledInterval / (s.count - 1)
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1
  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2
  if (isCounter && result > 0 && s.firstV >= 0) {
    const durationToZero = sampledInterval * (s.firstV / result)
    if (durationToZero < durationToStart) durationToStart = durationToZero
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval
  if (isRate) factor /= rangeMs / 1000
  return result * factor
}
