/**
 * The numbers of a report, from a series of (time, value) samples: percentiles, time spent above a
 * threshold and the highest spikes. Pure functions, so tests compute the same thing independently.
 */

/** One sample; `value` null where the series has no data (a gap). */
export interface Sample {
  tMs: number
  value: number | null
}

export interface Summary {
  /** Samples with a value. */
  count: number
  p50: number | null
  p95: number | null
  max: number | null
  /** When the maximum was seen (the first time, if it was seen more than once). */
  maxAtMs: number | null
  /** Milliseconds the value was above the threshold; null without a threshold. */
  aboveMs: number | null
  /** Milliseconds the series had data: `aboveMs` out of this. */
  coveredMs: number
}

/**
 * The nearest-rank percentile (the smallest value with at least p % of the values at or below it):
 * always a value that was actually seen, which a report about spikes should quote, never an
 * interpolation between two of them.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[Math.min(rank, sorted.length) - 1] ?? null
}

/**
 * How long each sample's value held: until the next sample, but at most `maxHoldMs`, so a gap in the
 * data (an agent down, a host off) never counts as time at the last value seen. The last sample holds
 * `maxHoldMs` too (it stands for its whole step). Samples must be in time order.
 */
export function holdTimes(samples: readonly Sample[], maxHoldMs: number): number[] {
  return samples.map((s, i) => {
    if (s.value === null) return 0
    const next = samples[i + 1]
    return next === undefined ? maxHoldMs : Math.max(0, Math.min(next.tMs - s.tMs, maxHoldMs))
  })
}

/** Time the value was strictly above `threshold`, weighing each sample by how long it held. */
export function timeAbove(samples: readonly Sample[], threshold: number, maxHoldMs: number): number {
  const hold = holdTimes(samples, maxHoldMs)
  let ms = 0
  samples.forEach((s, i) => {
    if (s.value !== null && s.value > threshold) ms += hold[i] ?? 0
  })
  return ms
}

export function summarize(
  samples: readonly Sample[],
  threshold: number | undefined,
  maxHoldMs: number,
): Summary {
  const values: number[] = []
  let max: number | null = null
  let maxAtMs: number | null = null
  for (const s of samples) {
    if (s.value === null || !Number.isFinite(s.value)) continue
    values.push(s.value)
    if (max === null || s.value > max) {
      max = s.value
      maxAtMs = s.tMs
    }
  }
  values.sort((a, b) => a - b)
  const covered = holdTimes(samples, maxHoldMs).reduce((a, b) => a + b, 0)
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    max,
    maxAtMs,
    aboveMs: threshold === undefined ? null : timeAbove(samples, threshold, maxHoldMs),
    coveredMs: covered,
  }
}

export interface Spike {
  tMs: number
  value: number
}

/**
 * The `k` highest peaks, at least `separationMs` apart: a local maximum (not lower than either
 * neighbour) taken highest first, skipping any within the separation of one already taken, so one
 * long plateau is one spike and not k neighbouring samples of it. Ties go to the earlier time.
 */
export function topSpikes(samples: readonly Sample[], k: number, separationMs: number): Spike[] {
  const peaks: Spike[] = []
  samples.forEach((s, i) => {
    if (s.value === null || !Number.isFinite(s.value)) return
    const before = samples[i - 1]?.value ?? null
    const after = samples[i + 1]?.value ?? null
    if ((before === null || s.value >= before) && (after === null || s.value >= after))
      peaks.push({ tMs: s.tMs, value: s.value })
  })
  peaks.sort((a, b) => b.value - a.value || a.tMs - b.tMs)
  const taken: Spike[] = []
  for (const p of peaks) {
    if (taken.length >= k) break
    if (taken.every((t) => Math.abs(t.tMs - p.tMs) >= separationMs)) taken.push(p)
  }
  return taken
}
