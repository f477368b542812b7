import { describe, expect, it } from 'vitest'
import { formatMetricPoints } from '#platform/prometheus-text.ts'
import { FreshnessHistogram } from './freshness.ts'
import type { SampleLogRow } from './rows.ts'

const row = (ts: string): SampleLogRow => ['t', 'h', 'h', 'a', 0, 'load', ts, 3, 0, '0', 'procstream.samples']

describe('FreshnessHistogram', () => {
  it('counts each envelope’s age at insert into cumulative buckets', () => {
    const h = new FreshnessHistogram()
    h.observe([row('1000.000000'), row('1000.800000'), row('997.000000')], 1_001_200)
    // ages 1.2 s, 0.4 s, 4.2 s
    const byLe = Object.fromEntries(
      h
        .points()
        .filter((p) => p.name.endsWith('_bucket'))
        .map((p): [string, number] => [p.labels.le ?? '', p.value]),
    )
    expect(byLe).toMatchObject({ '0.25': 0, '0.5': 1, '1': 1, '1.5': 2, '2': 2, '5': 3, '+Inf': 3 })
    expect(h.points().find((p) => p.name.endsWith('_sum'))?.value).toBeCloseTo(5.8, 9)
    expect(h.quantileUpperBound(0.5)).toBe(1.5)
    expect(h.quantileUpperBound(0.99)).toBe(5)
  })
})

describe('freshness in the exposition format', () => {
  it('is one histogram family: HELP and TYPE once, buckets in le order, then sum and count', () => {
    const h = new FreshnessHistogram()
    h.observe([row('1000.000000')], 1_000_500)
    const text = formatMetricPoints(h.points(), (name) =>
      name === 'procstream_processor_freshness_seconds' ? { type: 'histogram', help: 'Age.' } : undefined,
    )
    const lines = text.trim().split('\n')
    expect(lines.slice(0, 4)).toEqual([
      '# HELP procstream_processor_freshness_seconds Age.',
      '# TYPE procstream_processor_freshness_seconds histogram',
      'procstream_processor_freshness_seconds_bucket{le="0.1"} 0',
      'procstream_processor_freshness_seconds_bucket{le="0.25"} 0',
    ])
    expect(lines.slice(-3)).toEqual([
      'procstream_processor_freshness_seconds_bucket{le="+Inf"} 1',
      'procstream_processor_freshness_seconds_sum 0.5',
      'procstream_processor_freshness_seconds_count 1',
    ])
    expect(text.match(/# TYPE/g)).toHaveLength(1)
  })
})
