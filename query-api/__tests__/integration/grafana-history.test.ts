/**
 * Grafana's "Node Exporter Full" over 7, 30 and 90 days, as its panels ask: `$__rate_interval`
 * windows (step + 15 s, never whole tier buckets) at the steps Grafana picks for narrow, default and
 * wide panels, on 92 days of 1-minute and 1-hour rollup rows (48 CPU series among 63) and their
 * series rows, with no raw points at all: beyond raw retention, only the tiers can answer. Every query must answer 200 with one
 * point per step, read the tier the rules pick (README.md "Rollups"), and give the values computed
 * here from the rows' own formulas. The dashboard's variables (job, nodename, instance) must resolve
 * for every host, one that stopped reporting long ago included, and every panel of the dashboard
 * must answer over 90 days. Last, the API's other endpoints in the shapes Grafana reads.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { SERIES_ID_SQL } from '#schemas/clickhouse/ddl.ts'
import { seriesId } from '#schemas/src/series-id.ts'
import { canonicalLabels, microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import {
  alignRange,
  interpolate,
  parseDashboard,
  queryTiming,
  resolveVariables,
  type VariableApi,
} from '#test/support/grafana-dashboard.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { buildQueryApi } from '../../src/server.ts'

const DB = 'history'
const S = 1_000
const M = 60 * S
const H = 60 * M
const D = 24 * H
// Today's midnight (UTC): the metadata endpoint, like Prometheus's, looks at what is current.
const T_END = Math.floor(Date.now() / D) * D
const DAYS = 92
const T_START = T_END - DAYS * D
const MINUTES = (DAYS * D) / M
// A browser opens about six connections per server; Grafana keeps its panel queries within that.
const GRAFANA_CONCURRENCY = 4
/** h-old stopped 20 days before the end: past sample_log's 7 days, so no envelope names it. */
const OLD_END = MINUTES - 20 * 1440
/** web-1's cpu 0 idle counter restarts from zero here (a reboot). */
const RESET_AT = 45 * 1440 + 17
const MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'] as const
const SCRAPE_MS = 15 * S

interface Host {
  id: string
  name: string
  /** Minutes with rows. */
  end: number
  /** An envelope in sample_log names it (reported within the last 7 days). */
  logged: boolean
  uname: boolean
}
const HOSTS: Host[] = [
  { id: 'h-web-1', name: 'web-1', end: MINUTES, logged: true, uname: true },
  { id: 'h-db-1', name: 'db-1', end: MINUTES, logged: true, uname: true },
  { id: 'h-old', name: 'old-1', end: OLD_END, logged: false, uname: true },
  // Neither an envelope nor node_uname_info: its instance is its id.
  { id: 'h-anon', name: 'h-anon', end: MINUTES, logged: false, uname: false },
]

/** One series as the rows were generated: its minute buckets' last value, sum and count. */
interface Gen {
  metric: string
  host: Host
  labels: Record<string, string>
  last: (m: number) => number
  sum: (m: number) => number
}

const cpuRate = (hi: number, c: number, mi: number): number => 0.001 * (1 + mi) * (1 + hi) * (1 + c / 2)
const cpuPlain = (s: number, a: number, m: number): number =>
  1000 * (1 + s) + 60 * a * (m + 1) + 30 * a * (Math.floor(m / 7) + 1)
const load = (hi: number, m: number): number => 0.5 + hi / 4 + ((m * 7 + hi * 13) % 100) / 50
const memAvailable = (hi: number, m: number): number => 2e9 + 1e7 * ((m * 3 + hi) % 200)
const netBytes = (hi: number, m: number): number =>
  1e5 * (hi + 1) * 60 * (m + 1) + 6e6 * (Math.floor(m / 11) + 1)

const GENS: Gen[] = []
for (const [hi, host] of HOSTS.slice(0, 3).entries()) {
  for (const c of [0, 1])
    MODES.forEach((mode, mi) => {
      const s = hi * 16 + c * 8 + mi
      const a = cpuRate(hi, c, mi)
      const atReset = cpuPlain(s, a, RESET_AT - 1)
      const last = (m: number): number =>
        s === 0 && m >= RESET_AT ? cpuPlain(s, a, m) - atReset : cpuPlain(s, a, m)
      GENS.push({
        metric: 'node_cpu_seconds_total',
        host,
        labels: { cpu: String(c), mode },
        last,
        sum: (m) => 60 * last(m),
      })
    })
}
HOSTS.forEach((host, hi) => {
  GENS.push({
    metric: 'node_load1',
    host,
    labels: {},
    last: (m) => load(hi, m),
    sum: (m) => 60 * (load(hi, m) + 0.1),
  })
})
for (const [hi, host] of HOSTS.slice(0, 3).entries()) {
  GENS.push({
    metric: 'node_memory_MemTotal_bytes',
    host,
    labels: {},
    last: () => 8e9 * (hi + 1),
    sum: () => 60 * 8e9 * (hi + 1),
  })
  GENS.push({
    metric: 'node_memory_MemAvailable_bytes',
    host,
    labels: {},
    last: (m) => memAvailable(hi, m),
    sum: (m) => 60 * memAvailable(hi, m),
  })
  GENS.push({
    metric: 'node_network_receive_bytes_total',
    host,
    labels: { device: 'eth0' },
    last: (m) => netBytes(hi, m),
    sum: (m) => 60 * netBytes(hi, m),
  })
  GENS.push({
    metric: 'node_uname_info',
    host,
    labels: {
      domainname: '(none)',
      machine: 'x86_64',
      nodename: host.name,
      release: '6.1.0-18-amd64',
      sysname: 'Linux',
      version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)',
    },
    last: () => 1,
    sum: () => 60,
  })
}

let db: EmbeddedClickHouse | undefined
let clickhouse: ClickHouseClient
let app: FastifyInstance | undefined
let apiUrl: string
let key: string

/**
 * The same formulas as the generators above, in SQL, so ClickHouse writes millions of rows itself,
 * keyed by the id SERIES_ID_SQL computes from each row's names; the series rows (insertSeriesRows)
 * carry the ids seriesId() computes, so a read finds the rows only if the two agree.
 */
async function insertMinuteRows(): Promise<void> {
  const hostIds = `['${HOSTS.map((h) => h.id).join("','")}']`
  const minute = (sql: string): string => `INSERT INTO ${DB}.points_1m
    SELECT 'acme', ${SERIES_ID_SQL("'acme'", 'metric', 'host', 'labels')}, toDateTime(${T_START / 1000} + m * 60) AS bucket,
      toFloat64(lo), toFloat64(hi), toFloat64(sm), toUInt64(60),
      initializeAggregation('argMaxState', toFloat64(last), toUInt32(59000000))
    FROM (${sql})`
  const s0a = cpuRate(0, 0, 0)
  await clickhouse.command({
    query: minute(`SELECT 'node_cpu_seconds_total' AS metric, ${hostIds}[hix + 1] AS host,
        concat('{"cpu":"', toString(c), '","mode":"', ['${MODES.join("','")}'][mi + 1], '"}') AS labels, m,
        1000 * (1 + s) + 60 * a * (m + 1) + 30 * a * (intDiv(m, 7) + 1) AS plain,
        if(s = 0 AND m >= ${RESET_AT}, plain - ${cpuPlain(0, s0a, RESET_AT - 1)}, plain) AS last,
        last - 90 * a AS lo, last AS hi, 60 * last AS sm
      FROM (SELECT intDiv(number, ${MINUTES}) AS s, number % ${MINUTES} AS m, intDiv(s, 16) AS hix,
          intDiv(s, 8) % 2 AS c, s % 8 AS mi, 0.001 * (1 + mi) * (1 + hix) * (1 + c / 2) AS a
        FROM numbers(${48 * MINUTES}))
      WHERE hix < 2 OR m < ${OLD_END}`),
  })
  await clickhouse.command({
    query: minute(`SELECT 'node_load1' AS metric, ${hostIds}[hix + 1] AS host, '{}' AS labels, m,
        0.5 + hix / 4 + ((m * 7 + hix * 13) % 100) / 50 AS last, last - 0.25 AS lo, last + 0.5 AS hi, 60 * (last + 0.1) AS sm
      FROM (SELECT intDiv(number, ${MINUTES}) AS hix, number % ${MINUTES} AS m FROM numbers(${4 * MINUTES}))
      WHERE hix != 2 OR m < ${OLD_END}`),
  })
  const perHost = (metric: string, labels: string, last: string): string =>
    minute(`SELECT '${metric}' AS metric, ${hostIds}[hix + 1] AS host, '${labels}' AS labels, m,
        ${last} AS last, last AS lo, last AS hi, 60 * last AS sm
      FROM (SELECT intDiv(number, ${MINUTES}) AS hix, number % ${MINUTES} AS m FROM numbers(${3 * MINUTES}))
      WHERE hix != 2 OR m < ${OLD_END}`)
  await clickhouse.command({ query: perHost('node_memory_MemTotal_bytes', '{}', '8e9 * (hix + 1)') })
  await clickhouse.command({
    query: perHost('node_memory_MemAvailable_bytes', '{}', '2e9 + 1e7 * ((m * 3 + hix) % 200)'),
  })
  await clickhouse.command({
    query: perHost(
      'node_network_receive_bytes_total',
      '{"device":"eth0"}',
      '1e5 * (hix + 1) * 60 * (m + 1) + 6e6 * (intDiv(m, 11) + 1)',
    ),
  })
  for (const g of GENS.filter((x) => x.metric === 'node_uname_info')) {
    const labels = JSON.stringify(Object.fromEntries(Object.entries(g.labels).sort()))
    await clickhouse.command({
      query:
        minute(`SELECT 'node_uname_info' AS metric, '${g.host.id}' AS host, '${labels}' AS labels, number AS m,
          1 AS last, 1 AS lo, 1 AS hi, 60 AS sm FROM numbers(${g.host.end})`),
    })
  }
}

/** The series table's rows of the generated series: one per series and UTC day it has minutes. */
async function insertSeriesRows(): Promise<void> {
  const rows = GENS.flatMap((g) => {
    const labels = canonicalLabels(g.labels)
    const id = seriesId('acme', g.metric, g.host.id, labels).toString()
    const lastDay = Math.floor((T_START + (g.host.end - 1) * M) / D)
    return Array.from({ length: lastDay - T_START / D + 1 }, (_, k) => [
      'acme',
      g.metric,
      g.host.id,
      labels,
      id,
      new Date(T_START + k * D).toISOString().slice(0, 10),
    ])
  })
  await clickhouse.insert({ table: `${DB}.series`, values: rows, format: 'JSONCompactEachRow' })
}

beforeAll(async () => {
  db = await openEmbeddedClickHouse(DB)
  clickhouse = db.clickhouse
  await insertSeriesRows()
  await insertMinuteRows()
  // Hours from the minutes, as the views would have written them from the same raw rows.
  await clickhouse.command({
    query: `INSERT INTO ${DB}.points_1h
      SELECT tenant, series_id, toStartOfHour(bucket) AS h, min(value_min), max(value_max),
        sum(value_sum), sum(value_count),
        argMaxState(last, toUInt32((toUnixTimestamp(bucket) - toUnixTimestamp(h)) * 1000000 + 59000000))
      FROM (SELECT tenant, series_id, bucket, value_min, value_max, value_sum, value_count,
          finalizeAggregation(value_last) AS last FROM ${DB}.points_1m)
      GROUP BY tenant, series_id, h`,
  })
  const logged = HOSTS.filter((h) => h.logged)
  await clickhouse.insert({
    table: `${DB}.sample_log`,
    values: logged.map((h, i) => [
      'acme',
      h.id,
      h.name,
      `agent-${h.name}`,
      1,
      'cpu',
      microsToDateTime64((T_END - H) * 1000),
      16,
      0,
      i,
      'samples',
    ]),
    format: 'JSONCompactEachRow',
  })
  const { auth, keys } = await memoryKeys([{ tenant: 'acme', scopes: ['read'] }])
  key = keys[0] as string
  app = await buildQueryApi({
    clickhouse,
    database: DB,
    keys: auth,
    logger: createLogger('it-history', { level: 'error' }),
    maxPoints: 11_000,
    readiness: [],
    // The defaults of config.ts: the point is that real dashboards fit in them.
    promql: { timeoutMs: 30_000, maxBuckets: 2_000_000, cacheTtlMs: 0 },
  })
  apiUrl = await app.listen({ host: '127.0.0.1', port: 0 })
}, 600_000)

/** Timings and answers of the views, for the report (test-artifacts/): a green run prints nothing. */
const report: string[] = []

afterAll(async () => {
  await app?.close()
  await db?.close()
  const dir = fileURLToPath(new URL('../../../test-artifacts/grafana-history/', import.meta.url))
  mkdirSync(dir, { recursive: true })
  writeFileSync(`${dir}report.txt`, `${report.join('\n')}\n`)
})

// ---------------------------------------------------------------------------------------------
// What the rows say: the tier's points (one per bucket, at its end) and Prometheus's functions on them.

interface Point {
  t: number
  v: number
  sum: number
  count: number
}

const TIER_MS: Record<string, number> = { metrics_1m: M, metrics_1h: H }

/** The points of one series from a tier with bucket ends in (from, to]. */
function tierPoints(g: Gen, widthMs: number, from: number, to: number): Point[] {
  const out: Point[] = []
  const per = widthMs / M
  const first = Math.max(0, Math.floor((from - T_START) / widthMs))
  for (let i = first; ; i++) {
    const end = T_START + (i + 1) * widthMs
    if (end > to) break
    if (end <= from) continue
    const lastMinute = (i + 1) * per - 1
    if (lastMinute >= g.host.end) break
    let sum = 0
    for (let m = i * per; m <= lastMinute; m++) sum += g.sum(m)
    out.push({ t: end, v: g.last(lastMinute), sum, count: 60 * per })
  }
  return out
}

/** Prometheus's extrapolatedRate (promql/functions.go) over the points of a window (T − range, T]. */
function extrapolated(points: Point[], endMs: number, rangeMs: number, asRate: boolean): number | null {
  if (points.length < 2) return null
  const first = points[0] as Point
  const last = points.at(-1) as Point
  let result = last.v - first.v
  for (let i = 1; i < points.length; i++) {
    const prev = points[i - 1] as Point
    if ((points[i] as Point).v < prev.v) result += prev.v
  }
  const sampled = (last.t - first.t) / 1000
  const average = sampled / (points.length - 1)
  let toStart = (first.t - (endMs - rangeMs)) / 1000
  let toEnd = (endMs - last.t) / 1000
  if (toStart >= average * 1.1) toStart = average / 2
  if (result > 0 && first.v >= 0) toStart = Math.min(toStart, sampled * (first.v / result))
  if (toEnd >= average * 1.1) toEnd = average / 2
  const factor = (sampled + toStart + toEnd) / sampled
  return (result * factor) / (asRate ? rangeMs / 1000 : 1)
}

type Fn = 'rate' | 'irate' | 'avg_over_time' | 'last'

function windowValue(fn: Fn, points: Point[], endMs: number, rangeMs: number): number | null {
  switch (fn) {
    case 'rate':
      return extrapolated(points, endMs, rangeMs, true)
    case 'irate': {
      if (points.length < 2) return null
      const [a, b] = points.slice(-2) as [Point, Point]
      return (b.v < a.v ? b.v : b.v - a.v) / ((b.t - a.t) / 1000)
    }
    case 'avg_over_time':
      return points.length === 0
        ? null
        : points.reduce((x, p) => x + p.sum, 0) / points.reduce((x, p) => x + p.count, 0)
    case 'last':
      return points.at(-1)?.v ?? null
  }
}

interface Expected {
  labels: Record<string, string>
  values: (number | null)[]
}

/** fn over `gens` at each time, each window (T − W', T] read from the tier (W' rounded to its buckets). */
function expectSeries(fn: Fn, gens: Gen[], times: number[], table: string, windowMs: number): Expected[] {
  const w = TIER_MS[table] as number
  const read = Math.max(1, Math.round(windowMs / w)) * w
  return gens.map((g) => ({
    labels: {
      ...g.labels,
      ...(fn === 'last' ? { __name__: g.metric } : {}),
      host: g.host.id,
      instance: g.host.name,
      job: 'node',
    },
    values: times.map((t) => windowValue(fn, tierPoints(g, w, t - read, t), t, read)),
  }))
}

function aggregate(series: Expected[], by: string, op: 'sum' | 'avg'): Expected[] {
  const groups = new Map<string, Expected[]>()
  for (const s of series) {
    const k = s.labels[by] ?? ''
    groups.set(k, [...(groups.get(k) ?? []), s])
  }
  return [...groups].map(([k, members]) => ({
    labels: { [by]: k },
    values: (members[0] as Expected).values.map((_, i) => {
      const present = members.map((m) => m.values[i]).filter((v): v is number => v !== null)
      if (present.length === 0) return null
      const total = present.reduce((a, b) => a + b, 0)
      return op === 'sum' ? total : total / present.length
    }),
  }))
}

function topk(series: Expected[], k: number): Expected[] {
  const out = series.map((s) => ({ labels: s.labels, values: s.values.map((): number | null => null) }))
  const steps = series[0]?.values.length ?? 0
  for (let i = 0; i < steps; i++) {
    const ranked = series
      .map((s, j) => ({ j, v: s.values[i] }))
      .filter((x): x is { j: number; v: number } => x.v !== null && x.v !== undefined)
      .sort((a, b) => b.v - a.v)
      .slice(0, k)
    for (const { j, v } of ranked) (out[j] as Expected).values[i] = v
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// The API, as Grafana calls it.

interface Answer {
  status: number
  body: { status: string; data?: unknown; error?: string; errorType?: string; warnings?: string[] }
  sources: string | null
}

async function call(
  path: string,
  params: Record<string, string | string[]>,
  method = 'POST',
): Promise<Answer> {
  const form = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) form.append(k, x)
  const init: RequestInit =
    method === 'POST'
      ? {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        }
      : { headers: { authorization: `Bearer ${key}` } }
  const url = method === 'POST' ? `${apiUrl}${path}` : `${apiUrl}${path}?${form.toString()}`
  const res = await fetch(url, init)
  return {
    status: res.status,
    body: (await res.json()) as Answer['body'],
    sources: res.headers.get('x-procstream-sources'),
  }
}

type Matrix = { metric: Record<string, string>; values: [number, string][] }[]

function expectMatrix(actual: Matrix, expected: Expected[], times: number[], label: string): void {
  const key = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort())
  const want = expected
    .map((e) => ({
      key: key(e.labels),
      points: e.values.flatMap((v, i): [number, number][] =>
        v === null ? [] : [[(times[i] as number) / 1000, v]],
      ),
    }))
    .filter((e) => e.points.length > 0)
    .sort((a, b) => (a.key < b.key ? -1 : 1))
  const got = actual
    .map((s) => ({ key: key(s.metric), points: s.values.map(([t, v]): [number, number] => [t, Number(v)]) }))
    .sort((a, b) => (a.key < b.key ? -1 : 1))
  expect(
    got.map((s) => s.key),
    `${label}: series`,
  ).toEqual(want.map((s) => s.key))
  got.forEach((s, i) => {
    const w = (want[i] as { points: [number, number][] }).points
    expect(
      s.points.map((p) => p[0]),
      `${label}: timestamps of ${s.key}`,
    ).toEqual(w.map((p) => p[0]))
    s.points.forEach(([t, v], j) => {
      const e = (w[j] as [number, number])[1]
      expect(Math.abs(v - e), `${label} ${s.key} @${t}: ${v} vs ${e}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(e)),
      )
    })
  })
}

/** Grafana's views: the range, and the panel widths (max data points) that set its step. */
const VIEWS = [7, 30, 90].flatMap((days) =>
  [300, 1000, 2000].map((maxDataPoints) => {
    const t = queryTiming({ rangeMs: days * D, maxDataPoints, scrapeIntervalMs: SCRAPE_MS })
    const { startMs, endMs } = alignRange(T_END - days * D, T_END, t.stepMs)
    const times = Array.from({ length: (endMs - startMs) / t.stepMs + 1 }, (_, k) => startMs + k * t.stepMs)
    // Which tier the rules pick for a $__rate_interval window at this step (README.md "Rollups").
    const table = t.stepMs >= 4 * H ? 'metrics_1h' : 'metrics_1m'
    return { days, maxDataPoints, timing: t, startMs, endMs, times, table }
  }),
)

const cpu = (f: (g: Gen) => boolean = () => true): Gen[] =>
  GENS.filter((g) => g.metric === 'node_cpu_seconds_total' && f(g))

describe('Node Exporter Full’s queries over 7, 30 and 90 days, from the rollup tiers', () => {
  it('has the steps and windows Grafana sends, and the tiers they read', () => {
    expect(
      VIEWS.map((v) => [v.days, v.maxDataPoints, v.timing.stepMs / 1000, v.timing.rateIntervalMs / 1000]),
    ).toEqual([
      [7, 300, 1800, 1815],
      [7, 1000, 600, 615],
      [7, 2000, 300, 315],
      [30, 300, 7200, 7215],
      [30, 1000, 1800, 1815],
      [30, 2000, 1200, 1215],
      [90, 300, 21600, 21615],
      [90, 1000, 7200, 7215],
      [90, 2000, 3600, 3615],
    ])
  })

  it.each(VIEWS)(
    'rate over 48 CPU series, $days days at $maxDataPoints points',
    async (v) => {
      const query = interpolate('rate(node_cpu_seconds_total{job="$job"}[$__rate_interval])', {
        variables: { job: 'node' },
        timing: v.timing,
      })
      const started = Date.now()
      const a = await call('/api/v1/query_range', {
        query,
        start: String(v.startMs / 1000),
        end: String(v.endMs / 1000),
        step: String(v.timing.stepMs / 1000),
      })
      const ms = Date.now() - started
      expect(a.status, `${query}: ${a.body.error ?? ''}`).toBe(200)
      expect(a.sources).toBe(v.table)
      const result = (a.body.data as { result: Matrix }).result
      expect(result.length).toBe(v.days === 7 ? 32 : 48) // h-old's 16 stopped 20 days before the end
      // Every series has a point at every step while its host reported.
      for (const s of result.filter((x) => x.metric.instance !== 'old-1'))
        expect(s.values.length).toBe(v.times.length)
      expectMatrix(
        result,
        expectSeries('rate', cpu(), v.times, v.table, v.timing.rateIntervalMs),
        v.times,
        query,
      )
      report.push(
        `${v.days} d, step ${v.timing.stepMs / 1000} s: ${result.length} series in ${ms} ms from ${a.sources}`,
      )
    },
    120_000,
  )

  it.each(VIEWS.filter((v) => v.maxDataPoints === 1000 || v.days === 90))(
    'the dashboard’s shapes: sum by, avg by, topk, irate, avg_over_time, gauges ($days days at $maxDataPoints points)',
    async (v) => {
      const variables = { job: 'node', node: 'web-1' }
      const W = v.timing.rateIntervalMs
      const web = (g: Gen): boolean => g.host.name === 'web-1'
      const cases: [string, Expected[], string][] = [
        [
          'sum by (instance) (irate(node_cpu_seconds_total{job="$job", mode!="idle"}[$__rate_interval]))',
          aggregate(
            expectSeries(
              'irate',
              cpu((g) => g.labels.mode !== 'idle'),
              v.times,
              v.table,
              W,
            ),
            'instance',
            'sum',
          ),
          v.table,
        ],
        [
          '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval])))',
          aggregate(
            expectSeries(
              'rate',
              cpu((g) => g.labels.mode === 'idle'),
              v.times,
              v.table,
              W,
            ),
            'instance',
            'avg',
          ).map((e) => ({ ...e, values: e.values.map((x) => (x === null ? null : 100 * (1 - x))) })),
          v.table,
        ],
        [
          'topk(5, irate(node_cpu_seconds_total{instance="$node",job="$job"}[$__rate_interval]))',
          topk(expectSeries('irate', cpu(web), v.times, v.table, W), 5),
          v.table,
        ],
        [
          'avg_over_time(node_load1{instance="$node",job="$job"}[$__rate_interval])',
          expectSeries(
            'avg_over_time',
            GENS.filter((g) => g.metric === 'node_load1' && web(g)),
            v.times,
            v.table,
            W,
          ),
          v.table,
        ],
        [
          'irate(node_network_receive_bytes_total{instance="$node",job="$job"}[$__rate_interval])*8',
          expectSeries(
            'irate',
            GENS.filter((g) => g.metric === 'node_network_receive_bytes_total' && web(g)),
            v.times,
            v.table,
            W,
          ).map((e) => ({ ...e, values: e.values.map((x) => (x === null ? null : x * 8)) })),
          v.table,
        ],
        // Plain gauges: the last value within the 5 min lookback, from the minute tier at any step.
        [
          'node_load1{instance="$node",job="$job"}',
          expectSeries(
            'last',
            GENS.filter((g) => g.metric === 'node_load1' && web(g)),
            v.times,
            'metrics_1m',
            5 * M,
          ),
          'metrics_1m',
        ],
      ]
      for (const [text, expected, table] of cases) {
        const query = interpolate(text, { variables, timing: v.timing })
        const a = await call('/api/v1/query_range', {
          query,
          start: String(v.startMs / 1000),
          end: String(v.endMs / 1000),
          step: String(v.timing.stepMs / 1000),
        })
        expect(a.status, `${query}: ${a.body.error ?? ''}`).toBe(200)
        expect(a.sources, query).toBe(table)
        const result = (a.body.data as { result: Matrix }).result
        expect(result.length, query).toBeGreaterThan(0)
        expectMatrix(result, expected, v.times, query)
      }
    },
    120_000,
  )
})

describe('the dashboard’s variables and its host selector', () => {
  const range = { startMs: T_END - 90 * D, endMs: T_END }
  const api = (method: 'GET' | 'POST'): VariableApi => ({
    series: async (match, startMs, endMs) =>
      (
        await call(
          '/api/v1/series',
          { 'match[]': match, start: String(startMs / 1000), end: String(endMs / 1000) },
          method,
        )
      ).body.data as Record<string, string>[],
    labelValues: async (label, match, startMs, endMs) =>
      (
        await call(
          `/api/v1/label/${label}/values`,
          {
            ...(match !== undefined && { 'match[]': match }),
            start: String(startMs / 1000),
            end: String(endMs / 1000),
          },
          method,
        )
      ).body.data as string[],
    labelNames: async (match, startMs, endMs) =>
      (
        await call(
          '/api/v1/labels',
          {
            ...(match !== undefined && { 'match[]': match }),
            start: String(startMs / 1000),
            end: String(endMs / 1000),
          },
          method,
        )
      ).body.data as string[],
    instant: () => Promise.resolve([]),
  })
  // Node Exporter Full's current variables (grafana.com 1860): job, then nodename, then instance.
  const variables = [
    { name: 'job', query: 'label_values(node_uname_info, job)' },
    { name: 'nodename', query: 'label_values(node_uname_info{job="$job"}, nodename)' },
    { name: 'node', query: 'label_values(node_uname_info{job="$job", nodename="$nodename"}, instance)' },
  ].map((v) => ({
    ...v,
    type: 'query',
    regex: undefined,
    sort: 1,
    multi: false,
    includeAll: false,
    current: undefined,
  }))

  it.each([
    ['GET', 'series'],
    ['POST', 'series'],
    ['GET', 'label-values'],
    ['POST', 'label-values'],
  ] as const)(
    'resolves job, nodename and instance for every host (%s, Grafana reading label values from %s)',
    async (method, labelValuesApi) => {
      for (const host of HOSTS.filter((h) => h.uname)) {
        const resolved = await resolveVariables(variables, api(method), {
          ...range,
          labelValuesApi,
          prefer: { nodename: host.name },
        })
        expect(resolved.map((r) => [r.name, r.options, r.value])).toEqual([
          ['job', ['node'], 'node'],
          ['nodename', ['db-1', 'old-1', 'web-1'], host.name],
          // h-old has no envelope left: its name comes from its node_uname_info.
          ['node', [host.name], host.name],
        ])
      }
    },
  )

  it('finds each offered host’s series with the panels’ {instance="$node",job="$job"}', async () => {
    const offered = (
      await api('GET').labelValues('instance', 'node_load1', range.startMs, range.endMs)
    ).sort()
    expect(offered).toEqual(['db-1', 'h-anon', 'old-1', 'web-1'])
    const t = queryTiming({ rangeMs: 90 * D, maxDataPoints: 1000, scrapeIntervalMs: SCRAPE_MS })
    const { startMs, endMs } = alignRange(range.startMs, range.endMs, t.stepMs)
    for (const node of offered) {
      const a = await call('/api/v1/query_range', {
        query: interpolate('node_load1{instance="$node",job="$job"}', { variables: { node, job: 'node' } }),
        start: String(startMs / 1000),
        end: String(endMs / 1000),
        step: String(t.stepMs / 1000),
      })
      expect(a.status).toBe(200)
      const result = (a.body.data as { result: Matrix }).result
      const host = HOSTS.find((h) => h.name === node) as Host
      expect(result.map((s) => s.metric)).toEqual([
        { __name__: 'node_load1', host: host.id, instance: node, job: 'node' },
      ])
      expect(result[0]?.values.length).toBeGreaterThan(node === 'old-1' ? 800 : 1000)
    }
  })
})

describe('every panel of Node Exporter Full over 30 and 90 days', () => {
  const dashboard = parseDashboard(
    JSON.parse(
      readFileSync(
        fileURLToPath(new URL('../../../test/fixtures/node-exporter-full.json', import.meta.url)),
        'utf8',
      ),
    ),
  )
  const targets = dashboard.panels.flatMap((p) =>
    p.targets
      .filter((t) => !t.hide)
      .map((t) => ({ panel: p.title, maxDataPoints: p.maxDataPoints, target: t })),
  )

  it.each([30, 90])(
    'answers all %s-day panels, range and instant, without a limit error',
    async (days) => {
      expect(targets.length).toBeGreaterThan(200)
      const failures: string[] = []
      let withData = 0
      const panels = new Set<string>()
      const slowest = { ms: 0, query: '' }
      // Grafana sends a dashboard's panel queries several at a time; so does this replay.
      const queue = [...targets]
      const worker = async (): Promise<void> => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) await one(next)
      }
      const one = async ({ panel, maxDataPoints, target }: (typeof targets)[number]): Promise<void> => {
        const t = queryTiming({
          rangeMs: days * D,
          maxDataPoints: maxDataPoints ?? 1000,
          scrapeIntervalMs: SCRAPE_MS,
          ...(target.interval !== undefined && { targetInterval: target.interval }),
          intervalFactor: target.intervalFactor,
        })
        const { startMs, endMs } = alignRange(T_END - days * D, T_END, t.stepMs)
        const query = interpolate(target.expr, { variables: { job: 'node', node: 'web-1' }, timing: t })
        const started = Date.now()
        const answers = [
          ...(target.range
            ? [
                await call('/api/v1/query_range', {
                  query,
                  start: String(startMs / 1000),
                  end: String(endMs / 1000),
                  step: String(t.stepMs / 1000),
                }),
              ]
            : []),
          ...(target.instant ? [await call('/api/v1/query', { query, time: String(endMs / 1000) })] : []),
        ]
        const ms = Date.now() - started
        if (ms > slowest.ms) Object.assign(slowest, { ms, query })
        for (const a of answers) {
          if (a.status !== 200) failures.push(`${panel}: ${query}: ${a.status} ${a.body.error ?? ''}`)
          else if (((a.body.data as { result?: unknown[] }).result ?? []).length > 0) {
            withData++
            panels.add(panel)
          }
        }
      }
      await Promise.all(Array.from({ length: GRAFANA_CONCURRENCY }, worker))
      report.push(
        `${days} d: ${targets.length} targets, ${withData} answers with data (${[...panels].join(', ')}), slowest ${slowest.ms} ms: ${slowest.query}`,
      )
      expect(failures).toEqual([])
      // The panels over the metrics stored here have data: CPU, load, memory, network. (The stat
      // panels' instant queries read raw or the 10 s tier at the range's end, which hold no rows here.)
      expect([...panels].sort()).toEqual([
        'CPU',
        'CPU Basic',
        'CPU Cores',
        'Memory Basic',
        'Network Traffic',
        'Network Traffic Basic',
        'System Load',
      ])
      expect(withData).toBe(19)
    },
    600_000,
  )
})

describe('Grafana’s other requests', () => {
  const span = { start: String((T_END - 7 * D) / 1000), end: String(T_END / 1000) }

  it('answers every read endpoint by GET and by POST alike', async () => {
    const requests: [string, Record<string, string | string[]>][] = [
      ['/api/v1/query', { query: 'sum(node_load1)', time: span.end }],
      ['/api/v1/query_range', { query: 'sum(node_load1)', ...span, step: '3600' }],
      ['/api/v1/series', { 'match[]': 'node_uname_info', ...span }],
      ['/api/v1/labels', { 'match[]': 'node_uname_info', ...span }],
      ['/api/v1/label/nodename/values', { 'match[]': 'node_uname_info', ...span }],
      ['/api/v1/metadata', { metric: 'node_load1' }],
      ['/api/v1/rules', {}],
      ['/api/v1/alerts', {}],
      ['/api/v1/status/buildinfo', {}],
    ]
    for (const [path, params] of requests) {
      const [get, post] = [await call(path, params, 'GET'), await call(path, params, 'POST')]
      expect(get.status, path).toBe(200)
      expect(get.body.status).toBe('success')
      expect(post.body, path).toEqual(get.body)
    }
    expect(
      (await call('/api/v1/label/nodename/values', { 'match[]': 'node_uname_info', ...span })).body.data,
    ).toEqual(['db-1', 'web-1'])
  })

  it('answers rules and alerts as a Prometheus without any', async () => {
    expect((await call('/api/v1/rules', { type: 'alert' }, 'GET')).body).toEqual({
      status: 'success',
      data: { groups: [] },
    })
    expect((await call('/api/v1/alerts', {}, 'GET')).body).toEqual({
      status: 'success',
      data: { alerts: [] },
    })
  })

  it('honours limit as Prometheus does: truncates, with a warning, 0 for none', async () => {
    const all = (await call('/api/v1/series', { 'match[]': 'node_cpu_seconds_total', ...span })).body
    expect((all.data as unknown[]).length).toBe(32)
    expect(all.warnings).toBeUndefined()
    const cut = (await call('/api/v1/series', { 'match[]': 'node_cpu_seconds_total', ...span, limit: '5' }))
      .body
    expect(cut.data).toEqual((all.data as unknown[]).slice(0, 5))
    expect(cut.warnings).toEqual(['results truncated due to limit'])
    expect(
      (await call('/api/v1/series', { 'match[]': 'node_cpu_seconds_total', ...span, limit: '0' })).body,
    ).toEqual(all)
    expect(
      (await call('/api/v1/series', { 'match[]': 'node_cpu_seconds_total', ...span, limit: '32' })).body,
    ).toEqual(all)
    const labels = (await call('/api/v1/labels', { ...span, limit: '3' }, 'GET')).body
    expect(labels).toEqual({
      status: 'success',
      data: ['__name__', 'cpu', 'device'],
      warnings: ['results truncated due to limit'],
    })
    const values = (await call('/api/v1/label/instance/values', { ...span, limit: '2' }, 'GET')).body
    expect(values).toEqual({
      status: 'success',
      data: ['db-1', 'h-anon'],
      warnings: ['results truncated due to limit'],
    })
    for (const limit of ['-1', 'x']) {
      const bad = await call('/api/v1/labels', { ...span, limit })
      expect(bad.status).toBe(400)
      expect(bad.body.errorType).toBe('bad_data')
    }
  })

  it('answers metadata with limit and limit_per_metric', async () => {
    const meta = async (params: Record<string, string>): Promise<Record<string, unknown[]>> =>
      (await call('/api/v1/metadata', params, 'GET')).body.data as Record<string, unknown[]>
    // The last day's metric names (h-anon's load, the others' …), each with node_exporter's HELP and TYPE.
    const all = await meta({})
    expect(Object.keys(all).sort()).toEqual([
      'node_cpu_seconds_total',
      'node_load1',
      'node_memory_MemAvailable_bytes',
      'node_memory_MemTotal_bytes',
      'node_network_receive_bytes_total',
      ...(Object.keys(all).includes('node_uname_info') ? ['node_uname_info'] : []),
    ])
    expect(Object.keys(await meta({ limit: '2' }))).toHaveLength(2)
    expect(await meta({ limit: '0' })).toEqual({})
    expect(await meta({ limit_per_metric: '1', metric: 'node_load1' })).toEqual({
      node_load1: [{ type: 'gauge', help: '1m load average.', unit: '' }],
    })
    const bad = await call('/api/v1/metadata', { limit: 'many' }, 'GET')
    expect([bad.status, bad.body.errorType]).toEqual([400, 'bad_data'])
  })
})
