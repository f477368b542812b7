import { describe, expect, it } from 'vitest'
import { holdTimes, percentile, summarize, timeAbove, topSpikes, type Sample } from './stats.ts'

const at = (pairs: [number, number | null][]): Sample[] => pairs.map(([tMs, value]) => ({ tMs, value }))

describe('percentile (nearest rank)', () => {
  it('quotes a value that was seen', () => {
    const sorted = Array.from({ length: 20 }, (_, i) => i + 1) // 1..20
    expect(percentile(sorted, 50)).toBe(10)
    expect(percentile(sorted, 95)).toBe(19)
    expect(percentile(sorted, 100)).toBe(20)
    expect(percentile(sorted, 0)).toBe(1)
    expect(percentile([7], 95)).toBe(7)
    expect(percentile([], 50)).toBeNull()
  })
})

describe('time above a threshold', () => {
  it('weighs each sample by how long it held, with irregular sampling', () => {
    // Samples at 0, 1 s, 3 s, 3.5 s, 6 s: held 1, 2, 0.5, 2.5 s, and the last one a step (1 s).
    const s = at([
      [0, 95],
      [1_000, 50],
      [3_000, 91],
      [3_500, 99],
      [6_000, 10],
    ])
    expect(holdTimes(s, 5_000)).toEqual([1_000, 2_000, 500, 2_500, 5_000])
    expect(timeAbove(s, 90, 5_000)).toBe(1_000 + 500 + 2_500)
    // A gap longer than the step counts as one step, not as time at the last value.
    expect(timeAbove(s, 90, 1_000)).toBe(1_000 + 500 + 1_000)
  })

  it('counts nothing for gaps and values equal to the threshold', () => {
    const s = at([
      [0, 90],
      [1_000, null],
      [2_000, 100],
      [3_000, null],
    ])
    expect(timeAbove(s, 90, 1_000)).toBe(1_000)
    expect(holdTimes(s, 1_000)).toEqual([1_000, 0, 1_000, 0])
  })
})

describe('summarize', () => {
  it('gives p50, p95, max with its time, time above and coverage', () => {
    const s = at([
      [0, 10],
      [10_000, 30],
      [20_000, null],
      [30_000, 20],
      [40_000, 30],
    ])
    expect(summarize(s, 15, 10_000)).toEqual({
      count: 4,
      p50: 20,
      p95: 30,
      max: 30,
      maxAtMs: 10_000,
      aboveMs: 30_000,
      coveredMs: 40_000,
    })
    expect(summarize(s, undefined, 10_000).aboveMs).toBeNull()
    expect(summarize([], 1, 1_000)).toMatchObject({ count: 0, p50: null, max: null, maxAtMs: null })
  })
})

describe('top spikes', () => {
  it('takes the highest peaks at least the separation apart, a plateau once', () => {
    const values = [1, 5, 9, 9, 9, 2, 1, 7, 1, 1, 3, 1, 8, 1]
    const s = values.map((v, i) => ({ tMs: i * 1000, value: v }))
    expect(topSpikes(s, 3, 3_000)).toEqual([
      { tMs: 2_000, value: 9 },
      { tMs: 12_000, value: 8 },
      { tMs: 7_000, value: 7 },
    ])
    // Closer peaks are skipped for the next one far enough away.
    expect(topSpikes(s, 2, 6_000)).toEqual([
      { tMs: 2_000, value: 9 },
      { tMs: 12_000, value: 8 },
    ])
  })

  it('ignores gaps and gives fewer when there are fewer peaks', () => {
    const s = at([
      [0, null],
      [1_000, 4],
      [2_000, null],
    ])
    expect(topSpikes(s, 5, 1)).toEqual([{ tMs: 1_000, value: 4 }])
    expect(topSpikes([], 5, 1)).toEqual([])
  })
})
