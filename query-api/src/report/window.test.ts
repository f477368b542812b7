import { describe, expect, it } from 'vitest'
import { caught } from '#test/support/caught.ts'
import { DEFAULT_RETENTION, planWindow } from './window.ts'

const NOW = Date.UTC(2026, 11, 7, 12)
const DAY = 86_400_000
const opts = { nowMs: NOW, retention: DEFAULT_RETENTION, maxPoints: 1_500 }

describe('a report window', () => {
  it('reads raw points for a recent window, as finely as the points allow', () => {
    expect(planWindow(NOW - 3_600_000, NOW, opts)).toEqual({
      fromMs: NOW - 3_600_000,
      toMs: NOW,
      points: 1_500,
    })
  })

  it('ends now when it reaches into the future', () => {
    expect(planWindow(NOW - 60_000, NOW + 60_000, opts).toMs).toBe(NOW)
  })

  it('reads a tier still kept when raw points of that age are gone', () => {
    // 10 days ago: raw (7 days) is gone, 10 s rollups (30 days) are kept; 1 h = 90 steps of 40 s.
    expect(planWindow(NOW - 10 * DAY, NOW - 10 * DAY + 3_600_000, opts).points).toBe(90)
    // 100 days ago: 1 min rollups; a day is 360 steps of 4 min.
    expect(planWindow(NOW - 100 * DAY, NOW - 99 * DAY, opts).points).toBe(360)
  })

  it('refuses reversed, empty, future, too long and too old windows with a message naming why', () => {
    const message = (from: number, to: number): string => caught(() => planWindow(from, to, opts)).message
    expect(message(NOW, NOW - 1)).toMatch(/reversed/)
    expect(message(NOW - 1, NOW - 1)).toMatch(/empty/)
    expect(message(NOW + 1, NOW + 2)).toMatch(/future/)
    expect(message(NOW - 401 * DAY, NOW)).toMatch(/too long/)
    expect(message(NOW - 2000 * DAY, NOW - 1999 * DAY)).toMatch(
      /starts 2000 days ago, past the retention .*1 h rollups: 1825 days, ROLLUP_1H_TTL_DAYS/,
    )
    // 100 days ago only 1 min rollups remain: a 2 min window is not four of their buckets.
    expect(message(NOW - 100 * DAY, NOW - 100 * DAY + 120_000)).toMatch(/at least 240 s/)
    expect(
      (caught(() => planWindow(NOW, NOW - 1, opts)) as unknown as { statusCode: number }).statusCode,
    ).toBe(400)
  })
})
