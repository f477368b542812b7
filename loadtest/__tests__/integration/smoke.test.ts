/**
 * CI's load test: the smoke scenario through the whole pipeline against the integration broker,
 * asserting the audit (every produced (host, sequence) stored once, counted once in each rollup)
 * and the report's shape, not the speed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { runLoadtest } from '../../src/main.ts'
import type { Report } from '../../src/report.ts'
import { resolveOptions } from '../../src/scenarios.ts'

const out = mkdtempSync(join(tmpdir(), 'procstream-it-loadtest-'))

afterAll(() => {
  rmSync(out, { recursive: true, force: true })
})

describe('loadtest smoke scenario', () => {
  it('stores every produced sample exactly once and reports it', async () => {
    const options = resolveOptions({
      scenario: 'smoke',
      out,
      'duration-s': '10',
      brokers: inject('kafkaBrokers').join(','),
      partitions: '3',
    })
    const report = await runLoadtest(options, () => undefined)
    expect(report.audit.produced).toBeGreaterThan(0)
    expect(report.audit).toMatchObject({ lost: 0, duplicated: 0, exact: true })
    expect(report.audit.stored).toBe(report.audit.produced)
    expect(report.audit.raw_values).toBe(report.audit.expected_raw_values)
    for (const tier of ['10s', '1m', '1h'])
      expect(report.audit.rollup_counts[tier]).toBe(report.audit.raw_values)
    expect(report.freshness_ms.samples).toBeGreaterThan(0)
    expect(report.throughput.values_per_s).toBeGreaterThan(0)

    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report
    expect(json.scenario).toBe('smoke')
    expect(Object.keys(json.freshness_ms)).toEqual(expect.arrayContaining(['p50', 'p95', 'p99', 'max']))
    expect(json.audit).toEqual(report.audit)
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(
      '| produced | stored | lost | duplicated |',
    )
    const html = readFileSync(join(out, 'report.html'), 'utf8')
    expect(html).toContain('uPlot')
    expect(existsSync(join(out, 'report.html'))).toBe(true)
  })
})
