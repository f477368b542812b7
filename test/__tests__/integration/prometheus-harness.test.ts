/**
 * The harness that loads fixed samples into a real Prometheus, checked against Prometheus itself:
 * what it serves must be exactly what was written (names, escaped labels, millisecond times, special
 * values), or comparisons of our PromQL engine with it would compare against the wrong data.
 */
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  promQuery,
  startPrometheusWith,
  type LocalPrometheus,
  type PromSample,
} from '../../support/prometheus.ts'

type Vector = { metric: Record<string, string>; value: [number, string] }[]
type Matrix = { metric: Record<string, string>; values: [number, string][] }[]

// Whole seconds plus 250 ms, so a harness that lost the fraction would shift every sample.
const lastS = Math.floor(Date.now() / 1000) - 3600
const firstS = lastS - 1199
const tsMs = (s: number): number => s * 1000 + 250
const seconds = Array.from({ length: 1200 }, (_, i) => firstS + i)

const counter = (labels: Record<string, string>, base: number): PromSample => ({
  name: 'node_cpu_seconds_total',
  labels,
  points: seconds.map((s, i) => ({ tsMs: tsMs(s), value: base + 1.5 * i })),
})
const gaugeHost = 'web "1"\\a\nb'
const gaugePoints = seconds
  .filter((_, i) => i % 15 === 0 || i === 1199)
  .map((s, i) => ({ tsMs: tsMs(s), value: 0.5 + (i % 7) * 0.125 }))
const lastGauge = gaugePoints.at(-1)
const special = [NaN, Infinity, -Infinity, -0, 1e-7]
// As Prometheus's API formats them (Go's strconv), which differs from JavaScript's String().
const specialText = ['NaN', '+Inf', '-Inf', '-0', '1e-07']

const series: PromSample[] = [
  counter({ cpu: '0', mode: 'user' }, 0),
  counter({ cpu: '1', mode: 'system' }, 1000),
  { name: 'node_load1', labels: { host: gaugeHost }, points: gaugePoints },
  {
    name: 'procstream_test_special',
    labels: {},
    points: special.map((value, i) => ({ tsMs: tsMs(lastS - special.length + 1 + i), value })),
  },
]

let prom: LocalPrometheus | undefined
const served = (): LocalPrometheus => {
  if (prom === undefined) throw new Error('prometheus did not start')
  return prom
}

beforeAll(async () => {
  prom = await startPrometheusWith(series)
})
afterAll(async () => {
  await prom?.stop()
})

describe('startPrometheusWith', () => {
  it('serves the last gauge sample, its escaped label intact', async () => {
    const result = (await promQuery(served().url, '/api/v1/query', {
      query: 'node_load1',
      time: String(lastS + 30),
    })) as Vector
    expect(result).toHaveLength(1)
    expect(result[0]?.metric).toEqual({ __name__: 'node_load1', host: gaugeHost })
    expect(Number(result[0]?.value[1])).toBe(lastGauge?.value)
  })

  it('keeps millisecond timestamps and special values', async () => {
    const result = (await promQuery(served().url, 'query', {
      query: 'procstream_test_special[1m]',
      time: String(lastS + 1),
    })) as Matrix
    expect(result[0]?.values).toEqual(specialText.map((v, i) => [lastS - special.length + 1 + i + 0.25, v]))
  })

  it('gives rate 1.5/s at every step over 10 minutes', async () => {
    const start = firstS + 300
    const result = (await promQuery(served().url, '/api/v1/query_range', {
      query: 'rate(node_cpu_seconds_total[1m])',
      start: String(start),
      end: String(start + 600),
      step: '15s',
    })) as Matrix
    expect(result.map((r) => r.metric.cpu).sort()).toEqual(['0', '1'])
    for (const r of result) {
      expect(r.values).toHaveLength(41)
      for (const [, v] of r.values) expect(Number(v)).toBeCloseTo(1.5, 9)
    }
  })

  it('stores metric names exactly as given', async () => {
    const result = (await promQuery(served().url, 'query', {
      query: 'count by (__name__) ({__name__=~".+"})',
      time: String(lastS + 1),
    })) as Vector
    const counts = Object.fromEntries(
      result.map((r): [string, string] => [r.metric.__name__ ?? '', r.value[1]]),
    )
    expect(counts).toEqual({ node_cpu_seconds_total: '2', node_load1: '1', procstream_test_special: '1' })
  })

  it('rejects samples out of time order, which promtool would silently drop', async () => {
    const bad: PromSample = {
      name: 'x',
      labels: {},
      points: [
        { tsMs: 2000, value: 1 },
        { tsMs: 1000, value: 2 },
      ],
    }
    await expect(startPrometheusWith([bad])).rejects.toThrow(/silently drop/)
  })

  it('stops: the port no longer answers and the folder is gone', async () => {
    const p = served()
    await p.stop()
    await expect(fetch(`${p.url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow()
    expect(existsSync(p.dir)).toBe(false)
  })
})
