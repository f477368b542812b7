/**
 * How long the Prometheus API takes to answer a dashboard's typical queries over a realistic fleet in
 * embedded ClickHouse: node_exporter-shaped series of N hosts at 1 s for H hours
 * (test/support/node-series.ts) are written through the processor's sink into a database migrated
 * with the real schema, so the rollup views fill the tiers as they do in production. The query API
 * then listens on a local port and is asked over HTTP, as Grafana asks it (POSTed forms, start and
 * end aligned to the step), with the answer cache off. Three windows are timed, each at the step
 * Grafana would pick for it, which decides the table read (x-procstream-sources): the last 15 min
 * from raw, the last hour from the 10 s tier and the last 6 h from the 1 min tier. The last hour
 * (every panel) and the last 6 h (the CPU panel alone: a raw read of 6 h takes a while) are timed
 * once more with the start 5 s off the tiers' 10 s grid, which sends the same grid to raw.
 * Panels run one at a time, then all together as a dashboard opens them.
 *
 * chdb runs inside this process, so the CPU time and RSS reported cover the API and the database.
 *
 * `npx tsx bench/query-api.ts [--hosts N] [--hours H] [--json]` prints markdown (JSON with --json).
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { ClickHouseClient } from '@clickhouse/client'
import { createLogger } from '#platform/logger.ts'
import { ClickHouseSink } from '../stream-processors/src/clickhouse-sink.ts'
import { openEmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { nodeFleet, nodeFleetRows, type NodeSeries } from '#test/support/node-series.ts'
import { buildQueryApi } from '../query-api/src/server.ts'

export interface QueryApiBenchOptions {
  hosts?: number
  hours?: number
  /** Timed repetitions of each request, after one untimed warm-up. */
  runs?: number
}

export interface QueryTiming {
  window: string
  what: string
  /** The PromQL, or the HTTP path for the catalog calls. */
  query: string
  stepS: number | undefined
  /** The x-procstream-sources header: which tables answered. */
  source: string
  medianMs: number
  maxMs: number
  /**
   * Median over the runs of the time spent awaiting ClickHouse queries (chdb hands back a finished
   * result), summed over a request's queries, so overlapping ones can add up to more than the wall.
   */
  clickhouseMs: number
  /** ClickHouse queries per run. */
  clickhouseQueries: number
  series: number
  points: number
  responseBytes: number
}

export interface QueryApiBenchResult {
  hosts: number
  hours: number
  seriesPerHost: number
  rows: number
  /** Generating the rows in JS, outside the insert time. */
  generateSeconds: number
  insertSeconds: number
  insertRowsPerSecond: number
  /** Active parts per table when the queries start: merges still pending show here. */
  parts: Record<string, number>
  runs: number
  queries: QueryTiming[]
  /** This process (API and chdb) over the whole query phase. */
  process: { wallSeconds: number; cpuSeconds: number; rssBeforeMb: number; rssPeakMb: number }
}

// Generating and inserting the rows costs about 11 µs each on a 2-core machine (18 µs with other
// work on it), so 20 hosts × 6 h (12.5 M rows) took 2.7 to 4 min; 10 hosts take 1.5 min, 2.5 at worst.
const DEFAULT_HOSTS = 10
const DB = 'query_bench'
const TENANT = 'bench'
const HOUR_MS = 3_600_000
// chdb's connection joins an insert's body into one string, so a write of a whole hour of 20 hosts
// (2 M rows) would need a string of hundreds of MB; a quarter of an hour keeps it near 60 MB.
// nodeFleet reseeds its random numbers on every call, so each chunk repeats the previous one's
// shape: what a query costs depends on how many rows it reads, not on their values.
const CHUNK_SECONDS = 900

interface Window {
  name: string
  rangeS: number
  stepS: number
  /** Grafana's $__rate_interval for that step. */
  rate: string
  /** Seconds added to the aligned start: off the tiers' 10 s grid, the same query reads raw. */
  shiftS: number
  /** Only this panel, where all five would take too long for the run. */
  only?: string
}

const WINDOWS: Window[] = [
  { name: 'last 15 min, step 15 s', rangeS: 900, stepS: 15, rate: '1m', shiftS: 0 },
  { name: 'last 1 h, step 60 s', rangeS: 3600, stepS: 60, rate: '4m', shiftS: 0 },
  { name: 'last 1 h, step 60 s, start +5 s', rangeS: 3600, stepS: 60, rate: '4m', shiftS: 5 },
  { name: 'last 6 h, step 5 min', rangeS: 21_600, stepS: 300, rate: '20m', shiftS: 0 },
  {
    name: 'last 6 h, step 5 min, start +5 s',
    rangeS: 21_600,
    stepS: 300,
    rate: '20m',
    shiftS: 5,
    only: 'CPU busy % per host',
  },
]

function panels(r: string, firstHost: string): { what: string; query: string }[] {
  return [
    {
      what: 'CPU busy % per host',
      query: `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[${r}])))`,
    },
    {
      what: 'network receive per host',
      query: `sum by (instance) (rate(node_network_receive_bytes_total{device!="lo"}[${r}]))`,
    },
    {
      what: 'memory used %',
      query: '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)',
    },
    {
      what: 'one host CPU by mode',
      query: `sum by (mode) (rate(node_cpu_seconds_total{instance="${firstHost}"}[${r}]))`,
    },
    { what: 'top 5 hosts by load', query: `topk(5, avg_over_time(node_load1[${r}]))` },
  ]
}

/**
 * nodeFleet starts every counter from the same base on each call; carrying each counter on from
 * where the previous chunk ended (by one typical increment) keeps chunk edges from reading as resets.
 */
function continueCounters(series: NodeSeries[], last: Map<string, number>): void {
  for (const s of series) {
    const first = s.points[0]
    if (!s.metric.endsWith('_total') || first === undefined) continue
    const key = `${s.host}\u0000${s.metric}\u0000${JSON.stringify(s.labels)}`
    const prev = last.get(key)
    if (prev !== undefined) {
      const increment = (s.points[1]?.value ?? first.value) - first.value
      const offset = prev + increment - first.value
      for (const p of s.points) p.value += offset
    }
    last.set(key, s.points[s.points.length - 1]?.value ?? first.value)
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2
}

interface Answer {
  ms: number
  source: string
  series: number
  points: number
  bytes: number
}

export async function benchQueryApi(options: QueryApiBenchOptions = {}): Promise<QueryApiBenchResult> {
  const hostCount = options.hosts ?? DEFAULT_HOSTS
  const hours = options.hours ?? 6
  const runs = options.runs ?? 5
  // The bench replays many inserts; a deeper deduplication window than the tests' default.
  const db = await openEmbeddedClickHouse(DB, 1000)
  const clickhouse = db.clickhouse
  const logger = createLogger('bench-query-api', { level: 'error' })
  let app: Awaited<ReturnType<typeof buildQueryApi>> | undefined
  try {
    // Whole hours ending at the last full hour, so "now" for every window is the end of the data.
    const endMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS
    const startMs = endMs - hours * HOUR_MS
    const hosts = Array.from({ length: hostCount }, (_, i) => ({
      id: `h-${String(i).padStart(3, '0')}`,
      name: `node-${String(i).padStart(3, '0')}`,
    }))
    const sink = new ClickHouseSink(clickhouse, DB)
    const counters = new Map<string, number>()
    let rows = 0
    let seriesPerHost = 0
    let generateMs = 0
    let insertMs = 0
    for (let chunk = 0; chunk * CHUNK_SECONDS < hours * 3600; chunk++) {
      let t0 = performance.now()
      const fleet = nodeFleet({
        startMs: startMs + chunk * CHUNK_SECONDS * 1000,
        seconds: Math.min(CHUNK_SECONDS, hours * 3600 - chunk * CHUNK_SECONDS),
        intervalMs: 1000,
        hosts,
      })
      continueCounters(fleet, counters)
      const batch = nodeFleetRows(TENANT, fleet)
      seriesPerHost = fleet.length / hostCount
      generateMs += performance.now() - t0
      t0 = performance.now()
      await sink.write(batch, `bench/${chunk}`)
      insertMs += performance.now() - t0
      rows += batch.values.length
    }
    const partsRs = await clickhouse.query({
      query: `SELECT table, count() AS n FROM system.parts WHERE database = {db:String} AND active GROUP BY table`,
      query_params: { db: DB },
      format: 'JSONEachRow',
    })
    const parts: Record<string, number> = {}
    for (const p of await partsRs.json<{ table: string; n: string | number }>())
      if (p.table.startsWith('points')) parts[p.table] = Number(p.n)

    // chdb materialises a result before query() resolves, so the time spent awaiting query() is the
    // database's share of a request and the rest (JSON, evaluation, HTTP) is the API's.
    let clickhouseMs = 0
    let clickhouseQueries = 0
    const timedClient = new Proxy(clickhouse, {
      get(target, prop) {
        if (prop === 'query')
          return async (params: Parameters<ClickHouseClient['query']>[0]) => {
            const t0 = performance.now()
            try {
              return await target.query(params)
            } finally {
              clickhouseMs += performance.now() - t0
              clickhouseQueries++
            }
          }
        const v: unknown = Reflect.get(target, prop, target)
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
    const { auth, keys } = await memoryKeys([{ tenant: TENANT, scopes: ['read'] }])
    app = await buildQueryApi({
      clickhouse: timedClient,
      database: DB,
      keys: auth,
      logger,
      maxPoints: 11_000,
      readiness: [],
      promql: { timeoutMs: 120_000, maxBuckets: 10_000_000, cacheTtlMs: 0 },
      // Warm-up plus runs of every request would trip the default per-key limit on the fast ones.
      rateLimit: { requestsPerS: 10_000, burstS: 10 },
    })
    const apiUrl = await app.listen({ host: '127.0.0.1', port: 0 })
    const authorization = `Bearer ${keys[0] ?? ''}`

    const ask = async (
      path: string,
      params: Record<string, string>,
      method: 'GET' | 'POST',
    ): Promise<Answer> => {
      const form = new URLSearchParams(params).toString()
      const t0 = performance.now()
      const res =
        method === 'POST'
          ? await fetch(`${apiUrl}${path}`, {
              method,
              headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
              body: form,
            })
          : await fetch(`${apiUrl}${path}?${form}`, { headers: { authorization } })
      const text = await res.text()
      const ms = performance.now() - t0
      const body = JSON.parse(text) as { status: string; data?: unknown; error?: string }
      if (body.status !== 'success')
        throw new Error(`${path} ${JSON.stringify(params)}: ${res.status} ${body.error ?? ''}`)
      let series = 0
      let points = 0
      const data = body.data
      if (Array.isArray(data)) series = data.length
      else {
        const result = (data as { result: { values?: unknown[]; value?: unknown }[] }).result
        series = result.length
        for (const s of result) points += s.values?.length ?? (s.value === undefined ? 0 : 1)
      }
      return {
        ms,
        source: res.headers.get('x-procstream-sources') ?? '',
        series,
        points,
        bytes: text.length,
      }
    }

    let rssPeak = process.memoryUsage().rss
    const rssBefore = rssPeak
    interface Timed {
      first: Answer
      ms: number[]
      clickhouseMs: number[]
      clickhouseQueries: number
    }
    const timed = async (call: () => Promise<Answer>): Promise<Timed> => {
      const first = await call()
      const out: Timed = { first, ms: [], clickhouseMs: [], clickhouseQueries: 0 }
      for (let i = 0; i < runs; i++) {
        const [chMs, chQueries] = [clickhouseMs, clickhouseQueries]
        out.ms.push((await call()).ms)
        out.clickhouseMs.push(clickhouseMs - chMs)
        out.clickhouseQueries = clickhouseQueries - chQueries
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
      }
      return out
    }
    const row = (
      window: string,
      what: string,
      query: string,
      stepS: number | undefined,
      t: Timed,
    ): QueryTiming => ({
      window,
      what,
      query,
      stepS,
      source: t.first.source,
      medianMs: median(t.ms),
      maxMs: Math.max(...t.ms),
      clickhouseMs: median(t.clickhouseMs),
      clickhouseQueries: t.clickhouseQueries,
      series: t.first.series,
      points: t.first.points,
      responseBytes: t.first.bytes,
    })

    const cpu0 = process.cpuUsage()
    const wall0 = performance.now()
    const queries: QueryTiming[] = []
    const firstHost = hosts[0]?.name ?? ''
    for (const w of WINDOWS) {
      const stepMs = w.stepS * 1000
      // As Grafana does: both ends floored to the step, which the tiers need to tile the grid.
      const start = Math.floor((endMs - w.rangeS * 1000) / stepMs) * stepMs + w.shiftS * 1000
      const end = Math.floor(endMs / stepMs) * stepMs + w.shiftS * 1000
      const range = (query: string): Promise<Answer> =>
        ask(
          '/api/v1/query_range',
          { query, start: String(start / 1000), end: String(end / 1000), step: String(w.stepS) },
          'POST',
        )
      const list = panels(w.rate, firstHost).filter((p) => w.only === undefined || p.what === w.only)
      for (const p of list)
        queries.push(row(w.name, p.what, p.query, w.stepS, await timed(() => range(p.query))))
      if (list.length < 2) continue
      // A dashboard opens with every panel asking at once; the answer is as slow as the slowest.
      const together = await timed(async () => {
        const t0 = performance.now()
        const all = await Promise.all(list.map((p) => range(p.query)))
        return {
          ms: performance.now() - t0,
          source: [...new Set(all.map((a) => a.source))].join(','),
          series: all.reduce((n, a) => n + a.series, 0),
          points: all.reduce((n, a) => n + a.points, 0),
          bytes: all.reduce((n, a) => n + a.bytes, 0),
        }
      })
      queries.push(row(w.name, 'all 5 panels at once', '', w.stepS, together))
    }
    const catalogRange = { start: String((endMs - 6 * HOUR_MS) / 1000), end: String(endMs / 1000) }
    queries.push(
      row(
        'last 6 h',
        'series',
        'match[]={__name__=~"node_cpu.*"}',
        undefined,
        await timed(() =>
          ask('/api/v1/series', { 'match[]': '{__name__=~"node_cpu.*"}', ...catalogRange }, 'POST'),
        ),
      ),
    )
    queries.push(
      row(
        'last 6 h',
        'label values',
        '/api/v1/label/instance/values',
        undefined,
        await timed(() => ask('/api/v1/label/instance/values', catalogRange, 'GET')),
      ),
    )
    const cpu = process.cpuUsage(cpu0)

    return {
      hosts: hostCount,
      hours,
      seriesPerHost,
      rows,
      generateSeconds: generateMs / 1000,
      insertSeconds: insertMs / 1000,
      insertRowsPerSecond: rows / (insertMs / 1000),
      parts,
      runs,
      queries,
      process: {
        wallSeconds: (performance.now() - wall0) / 1000,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        rssBeforeMb: rssBefore / 2 ** 20,
        rssPeakMb: rssPeak / 2 ** 20,
      },
    }
  } finally {
    await app?.close()
    await db.close()
  }
}

export function queryApiMarkdown(r: QueryApiBenchResult): string {
  const n = (v: number): string => v.toLocaleString('en')
  const lines = [
    `Prometheus API over embedded ClickHouse (chdb in the API's process), answer cache off: ${n(r.hosts)} hosts × ${n(r.seriesPerHost)} node_exporter series × ${n(r.hours)} h at 1 s = ${n(r.rows)} raw rows, inserted through the processor's sink with the rollup views in ${r.insertSeconds.toFixed(1)} s (${n(Math.round(r.insertRowsPerSecond))} rows/s; generating them took ${r.generateSeconds.toFixed(1)} s more). Active parts at query time: ${Object.entries(
      r.parts,
    )
      .map(([t, p]) => `${t} ${p}`)
      .join(', ')}.`,
    `Each request over HTTP, POSTed as Grafana does, ${n(r.runs)} timed runs after one warm-up; ms until the whole body arrived. ClickHouse ms: the median run's time awaiting chdb, summed over its queries (the rest is the API: JSON, PromQL evaluation, HTTP).`,
    '',
    '| window | query | source | median ms | max ms | ClickHouse ms (queries) | series | points | KB |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const q of r.queries) {
    lines.push(
      `| ${q.window} | ${q.what} | ${q.source} | ${q.medianMs.toFixed(1)} | ${q.maxMs.toFixed(1)} | ${q.clickhouseMs.toFixed(1)} (${n(q.clickhouseQueries)}) | ${n(q.series)} | ${n(q.points)} | ${(q.responseBytes / 1024).toFixed(1)} |`,
    )
  }
  const p = r.process
  lines.push(
    '',
    `Query phase: ${p.wallSeconds.toFixed(1)} s wall, ${p.cpuSeconds.toFixed(1)} s CPU of this process (API and chdb; ${((p.cpuSeconds / p.wallSeconds) * 100).toFixed(0)} % of one core), RSS ${p.rssBeforeMb.toFixed(0)} MB before, ${p.rssPeakMb.toFixed(0)} MB at most.`,
  )
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { hosts: { type: 'string' }, hours: { type: 'string' }, json: { type: 'boolean' } },
  })
  const hosts = Number(values.hosts ?? DEFAULT_HOSTS)
  const hours = Number(values.hours ?? 6)
  if (!Number.isInteger(hosts) || hosts < 1 || !Number.isInteger(hours) || hours < 1 || hours > 48) {
    process.stderr.write('--hosts must be a whole number from 1, --hours one from 1 to 48\n')
    process.exit(2)
  }
  const result = await benchQueryApi({ hosts, hours })
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${queryApiMarkdown(result)}\n`)
}
