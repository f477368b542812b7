import { describe, expect, it } from 'vitest'
import { planRead, sourceFor, tierWindow } from './buckets.ts'

const S = 1_000
const M = 60 * S
const H = 60 * M

describe('tier selection', () => {
  it('reads the coarsest tier whose buckets are small next to the step and the window', () => {
    // Grafana's $__rate_interval with a 15 s scrape interval: step + 15 s.
    expect(sourceFor(5 * M, 5 * M + 15 * S, 'rate').table).toBe('metrics_1m')
    expect(sourceFor(15 * M, 15 * M + 15 * S, 'rate').table).toBe('metrics_1m')
    expect(sourceFor(3 * H, 3 * H + 15 * S, 'rate').table).toBe('metrics_1m')
    expect(sourceFor(6 * H, 6 * H + 15 * S, 'rate').table).toBe('metrics_1h')
    expect(sourceFor(M, 75 * S, 'rate').table).toBe('metrics_10s')
    expect(sourceFor(30 * S, 60 * S, 'rate').table).toBe('metrics_raw')
  })

  it('wants 4 tier buckets in a rate window, a whole number of them for *_over_time', () => {
    expect(sourceFor(5 * M, M, 'rate').table).toBe('metrics_10s')
    expect(sourceFor(5 * M, M, 'samples').table).toBe('metrics_1m')
    expect(sourceFor(6 * H, H, 'samples').table).toBe('metrics_1h')
    expect(sourceFor(6 * H, H + 15 * S, 'samples').table).toBe('metrics_1m')
    // The 5 min lookback of a plain selector.
    expect(sourceFor(6 * H, 5 * M, 'samples').table).toBe('metrics_1m')
  })

  it('reads a tier for an instant query only over a long window', () => {
    expect(sourceFor(undefined, 5 * M, 'rate').table).toBe('metrics_raw')
    expect(sourceFor(undefined, H, 'rate').table).toBe('metrics_10s')
    expect(sourceFor(undefined, 30 * 24 * H, 'rate').table).toBe('metrics_1h')
  })

  it('rounds a window to the nearest whole number of tier buckets, at least one', () => {
    expect(tierWindow(5 * M + 15 * S, M)).toBe(5 * M)
    expect(tierWindow(5 * M + 30 * S, M)).toBe(6 * M)
    expect(tierWindow(75 * S, 10 * S)).toBe(80 * S)
    expect(tierWindow(5 * M, H)).toBe(H)
    expect(tierWindow(5 * M + 15 * S, 0)).toBe(5 * M + 15 * S)
  })
})

describe('planRead', () => {
  it('reads one bucket per step when the rounded window is the step', () => {
    const start = Date.UTC(2026, 0, 1)
    const plan = planRead(start, 5 * M, 2017, 5 * M + 15 * S, 'rate')
    expect(plan.source.table).toBe('metrics_1m')
    expect(plan.windowMs).toBe(5 * M)
    expect(plan.grid).toEqual({ origin: start - 5 * M, period: 5 * M, periods: 2017, cut: 0 })
    expect(plan).toMatchObject({ stepBuckets: 1, offset: 0, span: 1 })
  })

  it('keeps raw windows exact, a whole number of steps', () => {
    const plan = planRead(0, 15 * S, 100, M, 'rate')
    expect(plan.source.table).toBe('metrics_raw')
    expect(plan.windowMs).toBe(M)
    expect(plan.grid).toEqual({ origin: -M, period: 15 * S, periods: 103, cut: 0 })
    expect(plan).toMatchObject({ stepBuckets: 1, offset: 0, span: 4 })
  })

  it('cuts each step in two where a window that is not whole steps starts', () => {
    // rate(x[75s]) every minute, from the 10 s tier: 80 s windows, the last 20 s of one step and
    // the whole next one (3 buckets), two buckets per step rather than gcd(60, 80) = 20 s ones.
    const plan = planRead(0, M, 100, 75 * S, 'rate')
    expect(plan.source.table).toBe('metrics_10s')
    expect(plan.windowMs).toBe(80 * S)
    expect(plan.grid).toEqual({ origin: -2 * M, period: M, periods: 101, cut: 20 * S })
    expect(plan).toMatchObject({ stepBuckets: 2, offset: 1, span: 3 })
  })

  it('spaces windows shorter than the step (their buckets alone are read)', () => {
    const plan = planRead(0, 6 * H, 10, 5 * M, 'samples')
    expect(plan.source.table).toBe('metrics_1m')
    expect(plan.grid).toEqual({ origin: -6 * H, period: 6 * H, periods: 10, cut: 5 * M })
    expect(plan).toMatchObject({ stepBuckets: 2, offset: 1, span: 1 })
  })

  it('plans an instant query as one window', () => {
    const plan = planRead(1_000_123, undefined, 1, 2 * H + 15 * S, 'rate')
    expect(plan.source.table).toBe('metrics_10s')
    expect(plan.windowMs).toBe(2 * H + 20 * S)
    expect(plan.grid).toEqual({
      origin: 1_000_123 - plan.windowMs,
      period: plan.windowMs,
      periods: 1,
      cut: 0,
    })
    expect(plan).toMatchObject({ stepBuckets: 1, offset: 0, span: 1 })
  })
})
