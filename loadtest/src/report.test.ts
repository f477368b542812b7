import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { metricSums, percentiles } from './observe.ts'
import { compareWithBaseline, markdown, processFigures, writeReport, type Report } from './report.ts'

const report = (valuesPerS: number, p99: number, lost = 0, pipelineUsPerValue: number | null = 25): Report =>
  ({
    audit: { lost, duplicated: 0 },
    throughput: { values_per_s: valuesPerS },
    freshness_ms: { p50: 100, p95: 200, p99, max: p99 },
    query_latency_ms: { p50: 10, p95: 20, p99: 30, max: 30 },
    processes: { pipeline: { cpu_percent: 118, peak_rss_mb: 900, cpu_us_per_value: pipelineUsPerValue } },
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

  it('flags the pipeline costing more than 20 % more CPU per stored value, and skips a baseline without the figure', () => {
    expect(compareWithBaseline(report(100_000, 1000, 0, 31), report(100_000, 1000, 0, 25))).toEqual([
      'processes.pipeline.cpu_us_per_value: 31.00 against 25.00 (+24 %)',
    ])
    expect(compareWithBaseline(report(100_000, 1000, 0, 29), report(100_000, 1000, 0, 25))).toEqual([])
    // A report.json from before the figure existed has no cpu_us_per_value: nothing to compare.
    const old = report(100_000, 1000)
    old.processes = { pipeline: { cpu_percent: 118, peak_rss_mb: 900 } } as unknown as Report['processes']
    expect(compareWithBaseline(report(100_000, 1000, 0, 90), old)).toEqual([])
  })
})

describe('CPU per stored value', () => {
  // The medium run: 120 s of load and drain, 46,297 values/s stored, the pipeline at 118 %.
  const stored = 46_297 * 120
  const cpu = new Map([
    ['simulator', 30.6],
    ['pipeline', 141.6],
    ['kafka', 22.8],
  ])
  const rss = new Map([
    ['simulator', 180 * 2 ** 20],
    ['pipeline', 1_450 * 2 ** 20],
    ['kafka', 610 * 2 ** 20],
  ])

  it("is each process's CPU seconds over the window divided by the values stored in it", () => {
    const p = processFigures(cpu, rss, 120, stored)
    expect(p.pipeline?.cpu_percent).toBeCloseTo(118, 6)
    expect(p.pipeline?.cpu_us_per_value).toBeCloseTo(25.488, 3)
    expect(p.simulator?.cpu_us_per_value).toBeCloseTo(5.508, 3)
    expect(p.kafka?.cpu_us_per_value).toBeCloseTo(4.104, 3)
    expect(p.kafka?.peak_rss_mb).toBe(610)
    expect(Object.keys(p)).toEqual(['simulator', 'pipeline', 'kafka'])
  })

  it('is null, not infinite, when nothing was stored', () => {
    expect(processFigures(cpu, rss, 120, 0).pipeline?.cpu_us_per_value).toBeNull()
  })

  it('is in the printed summary and in report.json', () => {
    const r = {
      ...report(46_297, 1000),
      scenario: 'medium',
      options: { hosts: 300, interval_ms: 1000, duration_s: 120, partitions: 6, spike: null },
      machine: { cpus: 2, model: 'AMD EPYC' },
      audit: {
        produced: 1,
        stored: 1,
        lost: 0,
        duplicated: 0,
        raw_values: stored,
        expected_raw_values: stored,
        rollup_counts: {},
        exact: true,
      },
      throughput: {
        values_per_s: 46_297,
        offered_values_per_s: 55_200,
        produced_values_per_s: 55_200,
        envelopes_per_s: 1,
        drain_s: 0,
      },
      lag: { max_messages: 0 },
      timeline: [],
      processes: processFigures(cpu, rss, 120, stored),
    } as Report
    const dir = mkdtempSync(join(tmpdir(), 'procstream-report-test-'))
    try {
      writeReport(dir, r)
      const md = readFileSync(join(dir, 'report.md'), 'utf8')
      expect(md).toBe(markdown(r))
      expect(md).toContain('| process | CPU % of a core (mean) | CPU-µs per stored value | peak RSS MB |')
      expect(md).toContain('| pipeline | 118 | 25.49 | 1450 |')
      expect(md).toContain('| kafka | 19 | 4.10 | 610 |')
      const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report
      expect(json.processes.pipeline?.cpu_us_per_value).toBeCloseTo(25.488, 3)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
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
