import { describe, expect, it } from 'vitest'
import { backoffMs, doubled } from './backoff.ts'

describe('backoff', () => {
  it('doubles up to the cap', () => {
    expect(doubled(100, 1_000)).toBe(200)
    expect(doubled(800, 1_000)).toBe(1_000)
    expect(doubled(1_000, 1_000)).toBe(1_000)
  })

  it('counts failures from the minimum, capped, without overflowing', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1_000, 5_000))).toEqual([1_000, 2_000, 4_000, 5_000])
    expect(backoffMs(10_000, 1, Number.MAX_VALUE)).toBe(65_536)
  })
})
