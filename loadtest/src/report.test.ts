import { describe, expect, it } from 'vitest'
import { metricSums, percentiles } from './observe.ts'
import { compareWithBaseline, type Report } from './report.ts'

const report = (valuesPerS: number, p99: number, lost = 0): Report =>
  ({
    audit: { lost, duplicated: 0 },
    throughput: { values_per_s: valuesPerS },
    freshness_ms: { p50: 100, p95: 200, p99, max: p99 },
    query_latency_ms: { p50: 10, p95: 20, p99: 30, max: 30 },
  }) as unknown as Report

describe('baseline comparison', () => {
  it('flags figures more than 20 % worse, in the direction that is worse', () => {
    expect(compareWithBaseline(report(100_000, 1000), report(100_000, 1000))).toEqual([])
    expect(compareWithBaseline(report(81_000, 1190), report(100_000, 1000))).toEqual([])
    const worse = compareWithBaseline(report(79_000, 1300), report(100_000, 1000))
    expect(worse).toEqual([
      'throughput.values_per_s: 79,000 against 100,000 (-21 %)',
      'freshness_ms.p99: 1,300 against 1,000 (+30 %)',
    ])
    expect(compareWithBaseline(report(100_000, 1000, 3), report(100_000, 1000))).toContain(
      'audit: 3 lost, 0 duplicated',
    )
  })
})

describe('observation helpers', () => {
  it('sums a metric over its label sets in a Prometheus text exposition', () => {
    const text = '# HELP x\nlag{partition="0"} 3\nlag{partition="1"} 4\nrows_total 10\n'
    expect(metricSums(text, ['lag', 'rows_total', 'missing'])).toEqual({ lag: 7, rows_total: 10, missing: 0 })
  })

  it('takes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentiles(v)).toEqual({ p50: 50, p95: 95, p99: 99, max: 100 })
    expect(percentiles([])).toEqual({ p50: 0, p95: 0, p99: 0, max: 0 })
  })
})
