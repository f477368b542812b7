/**
 * The Prometheus API agrees with the real Prometheus (Debian's 2.42) on the same data: node_exporter
 * series of two hosts, one with a counter reset and a gap, loaded into Prometheus's TSDB with promtool
 * and into embedded ClickHouse as the processors store them. Every query, among them those behind the
 * core panels of Grafana's "Node Exporter Full", is run through both as a range and as instant
 * queries; series, timestamps and values must match.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { ClickHouseSink } from '#test/support/store-rows.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { nodeFleet, nodeFleetRows, promLabels } from '#test/support/node-series.ts'
import { startPrometheusWith, type LocalPrometheus } from '#test/support/prometheus.ts'
import { buildQueryApi } from '../../src/server.ts'

const DB = 'agreement'
const MINUTE = 60_000
// Recent enough for Prometheus's retention, whole minutes so query steps align as Grafana's do.
const T0 = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000
const SECONDS = 40 * 60
const fleet = nodeFleet({
  startMs: T0,
  seconds: SECONDS,
  intervalMs: 1000,
  hosts: [
    { id: 'h-web-1', name: 'web-1' },
    { id: 'h-db-1', name: 'db-1' },
  ],
  troubled: 'h-db-1',
  gapSeconds: 150,
})

let db: EmbeddedClickHouse
let clickhouse: ClickHouseClient
let app: FastifyInstance
let apiUrl: string
let key: string
let prom: LocalPrometheus

beforeAll(async () => {
  db = await openEmbeddedClickHouse(DB)
  clickhouse = db.clickhouse
  await new ClickHouseSink(clickhouse, DB).write(nodeFleetRows('acme', fleet), 'agreement')
  const { auth, keys } = await memoryKeys([{ tenant: 'acme', scopes: ['read'] }])
  key = keys[0] as string
  app = await buildQueryApi({
    clickhouse,
    database: DB,
    keys: auth,
    logger: createLogger('it-agreement', { level: 'error' }),
    maxPoints: 11_000,
    readiness: [],
    promql: { timeoutMs: 60_000, maxBuckets: 2_000_000, cacheTtlMs: 0 },
  })
  apiUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  prom = await startPrometheusWith(
    fleet.map((s) => {
      const { __name__: _name, ...labels } = promLabels(s)
      return { name: s.metric, labels, points: s.points }
    }),
  )
})

afterAll(async () => {
  await prom.stop()
  await app.close()
  await db.close()
})

async function ours(path: string, params: Record<string, string>): Promise<unknown> {
  return (await oursWithSources(path, params)).data
}

async function oursWithSources(
  path: string,
  params: Record<string, string>,
): Promise<{ data: unknown; sources: string | null }> {
  const res = await fetch(`${apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  })
  const body = (await res.json()) as { status: string; data?: unknown; error?: string }
  if (body.status !== 'success')
    throw new Error(`${path} ${JSON.stringify(params)}: ${res.status} ${body.error}`)
  return { data: body.data, sources: res.headers.get('x-procstream-sources') }
}

/** Prometheus's whole `data` (resultType and result), as ours answers it. */
async function theirs(path: string, params: Record<string, string>): Promise<unknown> {
  const res = await fetch(`${prom.url}${path}?${new URLSearchParams(params).toString()}`)
  const body = (await res.json()) as { status: string; data?: unknown; error?: string }
  if (body.status !== 'success')
    throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.error}`)
  return body.data
}

type Sample = [number, string]
type Result = { resultType: string; result: unknown }

/** Series sorted by labels; values compared as numbers with a relative tolerance for float order. */
function expectSameResult(actual: Result, expected: Result, label: string, tolerance = 1e-9): void {
  expect(actual.resultType, label).toBe(expected.resultType)
  const key = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort())
  const norm = (r: Result): { metric: string; samples: Sample[] }[] => {
    if (r.resultType === 'scalar') return [{ metric: '{}', samples: [r.result as Sample] }]
    return (r.result as { metric: Record<string, string>; values?: Sample[]; value?: Sample }[])
      .map((s) => ({ metric: key(s.metric), samples: s.values ?? (s.value ? [s.value] : []) }))
      .sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0))
  }
  const a = norm(actual)
  const e = norm(expected)
  expect(
    a.map((s) => s.metric),
    `${label}: series`,
  ).toEqual(e.map((s) => s.metric))
  a.forEach((s, i) => {
    const want = (e[i] as { samples: Sample[] }).samples
    expect(
      s.samples.map((p) => p[0]),
      `${label}: timestamps of ${s.metric}`,
    ).toEqual(want.map((p) => p[0]))
    s.samples.forEach(([t, v], j) => {
      const w = Number((want[j] as Sample)[1])
      const got = Number(v)
      if (Number.isNaN(w)) expect(got, `${label} ${s.metric} @${t}`).toBeNaN()
      else
        expect(Math.abs(got - w), `${label} ${s.metric} @${t}: ${got} vs ${w}`).toBeLessThanOrEqual(
          tolerance * Math.max(1, Math.abs(w)),
        )
    })
  })
}

const QUERIES = [
  // Grafana "Node Exporter Full", core panels (with $node = web-1, $job = node, $__rate_interval = 1m).
  '100 * (1 - avg(rate(node_cpu_seconds_total{mode="idle", instance="web-1", job="node"}[1m])))',
  'sum by (mode) (irate(node_cpu_seconds_total{instance="web-1", job="node"}[1m]))',
  'avg(node_load1{instance="web-1",job="node"}) / count(count(node_cpu_seconds_total{instance="web-1",job="node"}) by (cpu)) * 100',
  'node_load1{instance="web-1",job="node"}',
  '100 - ((node_memory_MemAvailable_bytes{instance="web-1",job="node"} * 100) / node_memory_MemTotal_bytes{instance="web-1",job="node"})',
  'node_memory_MemTotal_bytes{instance="web-1"} - node_memory_MemFree_bytes{instance="web-1"} - (node_memory_Cached_bytes{instance="web-1"} + node_memory_Buffers_bytes{instance="web-1"})',
  'rate(node_network_receive_bytes_total{instance="web-1",job="node",device!~"lo"}[1m]) * 8',
  'irate(node_network_transmit_bytes_total{job="node"}[1m])*8',
  'rate(node_disk_read_bytes_total{instance="web-1",job="node"}[1m])',
  'increase(node_disk_written_bytes_total[5m])',
  '100 - ((node_filesystem_avail_bytes{job="node",fstype!="tmpfs"} * 100) / node_filesystem_size_bytes{job="node",fstype!="tmpfs"})',
  'rate(node_pressure_cpu_waiting_seconds_total{instance="web-1"}[1m])',
  'irate(node_pressure_io_waiting_seconds_total[1m])',
  // Across hosts: resets, the gap, aggregations and matching.
  'rate(node_cpu_seconds_total{mode="user"}[2m])',
  'sum without (cpu) (rate(node_cpu_seconds_total[30s]))',
  'topk(1, rate(node_network_receive_bytes_total[1m]))',
  'bottomk(1, node_load1)',
  'max by (instance) (node_load5)',
  'min(node_load15)',
  'count by (instance) (node_cpu_seconds_total)',
  'sum(rate(node_network_receive_bytes_total{device=~"eth.*"}[90s])) by (instance)',
  'delta(node_filesystem_avail_bytes{mountpoint="/"}[2m])',
  'idelta(node_memory_MemAvailable_bytes[1m])',
  'avg_over_time(node_load1[90s])',
  'min_over_time(node_load1[2m])',
  'max_over_time(node_load1[2m])',
  'sum_over_time(node_load1[1m])',
  'count_over_time(node_load1[1m])',
  'last_over_time(node_load1[1m])',
  'node_load1 > 1.2',
  'node_load1 > bool 1.2',
  '1 < node_load1',
  'node_load1 and on (instance) node_load5 > 1',
  'node_load1 or node_load5{instance="web-1"}',
  'node_load1 unless node_load1 > 1.2',
  'node_filesystem_avail_bytes / on (instance, mountpoint) group_left (fstype) node_filesystem_size_bytes',
  'node_memory_MemTotal_bytes / ignoring (job) node_memory_MemAvailable_bytes',
  'clamp_max(node_load1, 1)',
  'clamp_min(node_load1, 1)',
  'clamp(node_load1, 0.8, 1.2)',
  'abs(-node_load1)',
  'round(node_load1, 0.5)',
  'ceil(node_load1) + floor(node_load5)',
  '-node_load1 % 0.3',
  'node_load1 ^ 2',
  'sqrt(node_load1) * ln(node_load5) - log10(node_load15) + exp(node_load1 / 10)',
  'scalar(count(node_load1)) * node_load5',
  'vector(1) + 2',
  'time()',
  'node_load1 offset 2m',
  'rate(node_cpu_seconds_total{mode="idle"}[1m] offset 1m)',
  // Windows that are not a whole number of steps (two grid buckets per step), or shorter than it.
  'rate(node_network_receive_bytes_total[45s])',
  'irate(node_cpu_seconds_total{mode="system"}[20s])',
  'max_over_time(node_load1[20s])',
  'count_over_time(node_load1[50s]) + sum_over_time(node_load5[25s])',
  'increase(node_cpu_seconds_total{mode="user"}[75s])',
]

describe('Prometheus API against Prometheus 2.42 on the same data', () => {
  it.each(QUERIES)('range query %s', async (query) => {
    for (const step of [15, 30]) {
      const params = {
        query,
        start: String((T0 + 5 * MINUTE) / 1000),
        end: String((T0 + SECONDS * 1000 + 3 * MINUTE) / 1000),
        step: String(step),
      }
      const [a, e] = await Promise.all([
        ours('/api/v1/query_range', params),
        theirs('/api/v1/query_range', params),
      ])
      expectSameResult(a as Result, e as Result, `${query} step ${step}`)
    }
  })

  it.each(QUERIES)('instant query %s', async (query) => {
    // During the data, inside the gap, and after the end but within the 5 min lookback.
    for (const at of [
      T0 + 7 * MINUTE + 7_000,
      T0 + (SECONDS / 2) * 1000 + 100_000,
      T0 + SECONDS * 1000 + 2 * MINUTE,
    ]) {
      const params = { query, time: String(at / 1000) }
      const [a, e] = await Promise.all([ours('/api/v1/query', params), theirs('/api/v1/query', params)])
      expectSameResult(a as Result, e as Result, `${query} at ${at}`)
    }
  })
})

describe('rollup tiers behind the Prometheus API', () => {
  // Over a window, a tier's buckets hold exactly the raw samples (none sits on a bucket edge), so
  // *_over_time and plain selectors agree exactly; rate and friends see one sample per bucket, so
  // they agree within the noise of the increments the buckets hide.
  const cases: [string, number, string, number][] = [
    ['avg_over_time(node_load1[5m])', 60, 'metrics_10s', 1e-9],
    ['max_over_time(node_load1[5m]) - min_over_time(node_load1[5m])', 60, 'metrics_10s', 1e-9],
    ['sum_over_time(node_load1[5m]) / count_over_time(node_load1[5m])', 300, 'metrics_1m', 1e-9],
    ['node_memory_MemAvailable_bytes', 60, 'metrics_10s', 1e-9],
    ['sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))', 60, 'metrics_10s', 0.02],
    ['rate(node_network_receive_bytes_total{device="eth0"}[10m])', 300, 'metrics_1m', 0.05],
    // Grafana's $__rate_interval (step + 15 s), not whole tier buckets: read as 80 s and 5 min.
    ['avg_over_time(node_load1[75s])', 60, 'metrics_10s', 0.05],
    ['sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[75s]))', 60, 'metrics_10s', 0.05],
    ['rate(node_network_receive_bytes_total{device="eth0"}[5m15s])', 300, 'metrics_1m', 0.05],
  ]
  it.each(cases)('%s at step %ss reads %s', async (query, step, table, tolerance) => {
    const params = {
      query,
      start: String((T0 + 10 * MINUTE) / 1000),
      end: String((T0 + 18 * MINUTE) / 1000),
      step: String(step),
    }
    const [a, e] = await Promise.all([
      oursWithSources('/api/v1/query_range', params),
      theirs('/api/v1/query_range', params),
    ])
    expect(a.sources).toBe(table)
    expectSameResult(a.data as Result, e as Result, `${query} step ${step}`, tolerance)
  })
})

describe('Grafana’s other requests, against Prometheus', () => {
  const span = { start: String(T0 / 1000), end: String((T0 + SECONDS * 1000) / 1000) }
  const sorted = (v: unknown): string[] =>
    (v as unknown[])
      .map((x) => JSON.stringify(typeof x === 'object' && x ? Object.entries(x).sort() : x))
      .sort()

  it('lists the same series, label names and label values (metric browser, variables)', async () => {
    for (const match of [
      ['node_load1'],
      ['{__name__=~"node_cpu.*", mode="idle"}', 'node_memory_MemTotal_bytes'],
    ]) {
      const form = new URLSearchParams(span)
      for (const m of match) form.append('match[]', m)
      const [a, e] = await Promise.all([
        fetch(`${apiUrl}/api/v1/series`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        }).then((r) => r.json() as Promise<{ data: unknown }>),
        fetch(`${prom.url}/api/v1/series?${form.toString()}`).then(
          (r) => r.json() as Promise<{ data: unknown }>,
        ),
      ])
      expect(sorted(a.data), match.join()).toEqual(sorted(e.data))
    }
    for (const path of [
      '/api/v1/labels',
      '/api/v1/labels?match[]=node_filesystem_size_bytes',
      '/api/v1/label/__name__/values',
      '/api/v1/label/instance/values',
      '/api/v1/label/mode/values?match[]=node_cpu_seconds_total',
      '/api/v1/label/device/values?match[]=node_network_receive_bytes_total',
      '/api/v1/label/nothing/values',
    ]) {
      const sep = path.includes('?') ? '&' : '?'
      const q = `${sep}start=${span.start}&end=${span.end}`
      const [a, e] = await Promise.all([
        fetch(`${apiUrl}${path}${q}`, { headers: { authorization: `Bearer ${key}` } }).then(
          (r) => r.json() as Promise<{ data: unknown }>,
        ),
        fetch(`${prom.url}${path}${q}`).then((r) => r.json() as Promise<{ data: unknown }>),
      ])
      expect(a.data, path).toEqual(e.data)
    }
  })

  it('fails the same way Prometheus does, with its error types', async () => {
    const range = { start: span.start, end: span.end, step: '60' }
    for (const [path, params] of [
      ['/api/v1/query', { query: 'node_load1 / on () node_load5', time: String((T0 + 600_000) / 1000) }],
      ['/api/v1/query', { query: 'rate(node_load1)' }],
      ['/api/v1/query', { query: 'sum(' }],
      ['/api/v1/query', { query: 'node_load1{' }],
      ['/api/v1/query', { query: '1 > 2' }],
      ['/api/v1/query_range', { query: 'node_load1[5m]', ...range }],
      ['/api/v1/query_range', { query: 'node_load1', ...range, step: '0' }],
      ['/api/v1/query_range', { query: 'node_load1', ...range, step: '1', start: '0' }],
      ['/api/v1/query_range', { query: 'node_load1', start: span.end, end: span.start, step: '60' }],
      ['/api/v1/query', { query: 'node_load1', time: 'yesterday' }],
    ] as const) {
      const body = new URLSearchParams(params).toString()
      const [a, e] = await Promise.all([
        fetch(`${apiUrl}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
          body,
        }),
        fetch(`${prom.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        }),
      ])
      const [ab, eb] = (await Promise.all([a.json(), e.json()])) as { status: string; errorType: string }[]
      expect({ status: a.status, errorType: ab?.errorType }, `${path} ${body}`).toEqual({
        status: e.status,
        errorType: eb?.errorType,
      })
    }
  })

  it('names the PromQL it does not support, in Prometheus’s error shape', async () => {
    for (const [query, named] of [
      ['label_replace(node_load1, "a", "$1", "instance", "(.*)")', 'label_replace'],
      ['max_over_time(rate(node_cpu_seconds_total[1m])[5m:1m])', 'subqueries'],
      ['stddev(node_load1)', 'stddev'],
      ['node_load1 @ 1700000000', '@ modifier'],
    ] as const) {
      const res = await fetch(`${apiUrl}/api/v1/query?query=${encodeURIComponent(query)}`, {
        headers: { authorization: `Bearer ${key}` },
      })
      expect(res.status).toBe(400)
      const body = (await res.json()) as { status: string; errorType: string; error: string }
      expect(body.status).toBe('error')
      expect(body.errorType).toBe('bad_data')
      expect(body.error).toContain(named)
    }
  })

  it('answers the status and metadata requests Grafana makes when a data source is saved', async () => {
    const get = (path: string) =>
      fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${key}` } }).then(
        (r) => r.json() as Promise<{ status: string; data: Record<string, unknown> }>,
      )
    expect((await get('/api/v1/status/buildinfo')).data.version).toMatch(/^\d+\.\d+\.\d+$/)
    const meta = await get(`/api/v1/metadata?start=${span.start}&end=${span.end}`)
    expect(meta.data.node_cpu_seconds_total).toEqual([
      { type: 'counter', help: 'Seconds the CPUs spent in each mode.', unit: '' },
    ])
    expect(
      (await get(`/api/v1/query_exemplars?query=node_load1&start=${span.start}&end=${span.end}`)).data,
    ).toEqual([])
    const unauthorised = await fetch(`${apiUrl}/api/v1/query?query=node_load1`)
    expect(unauthorised.status).toBe(401)
    expect(await unauthorised.json()).toMatchObject({ status: 'error' })
  })
})
