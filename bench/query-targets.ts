/**
 * The read side against its targets (issue 18, item 5), on embedded ClickHouse in this process:
 * - a host's 24 h chart: the dashboard's `/api/series` (counter rates and a gauge) and the same chart
 *   as Grafana asks it (`query_range`), p95 of the server's answer, target ≤ 20 ms;
 * - the top 10 of a 10,000-host fleet: Prometheus instant queries (`topk(10, …)` over a gauge and
 *   over CPU busy %) and the fleet view (`/api/fleet`), p95, target ≤ 100 ms;
 * - a dashboard under load: U users each opening five panels at once, again and again, while 1 s
 *   samples of the charted hosts keep being stored through the processor's sink, p95 of every panel
 *   request, target ≤ 200 ms.
 *
 * Data: `--hosts` hosts of node_exporter-shaped series at 1 s for 24 h (test/support/node-series.ts),
 * written through the processor's sink in 15 min chunks so the tier views fill as in production; and
 * `--fleet-hosts` hosts of another tenant with 5 series each (load, two CPU modes, memory) for the
 * last 16 min, written by SQL (a million hosts' worth of JS rows would take longer than the runs).
 * Requests go over HTTP on loopback, answer cache off; ms are until the whole body arrived.
 *
 * `npx tsx bench/query-targets.ts [--hosts 10] [--fleet-hosts 10000] [--users 4] [--load-seconds 30] [--runs 30] [--json]`
 */
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { ClickHouseClient } from '@clickhouse/client'
import { createLogger } from '#platform/logger.ts'
import { SERIES_ID_SQL } from '#schemas/clickhouse/ddl.ts'
import { ClickHouseSink } from '../stream-processors/src/clickhouse-sink.ts'
import { openEmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { nodeFleet, nodeFleetRows, type NodeSeries } from '#test/support/node-series.ts'
import { buildQueryApi } from '../query-api/src/server.ts'

export interface QueryTargetsOptions {
  hosts?: number
  fleetHosts?: number
  users?: number
  loadSeconds?: number
  runs?: number
}

export interface Timing {
  what: string
  target: string
  request: string
  runs: number
  medianMs: number
  p95Ms: number
  maxMs: number
  /** Median CPU ms of this process (API and chdb) per request, for the sequential runs. */
  cpuMs?: number
  source: string
}

export interface QueryTargetsResult {
  hosts: number
  fleetHosts: number
  points: { charted: number; fleet: number }
  insertSeconds: { charted: number; fleet: number }
  timings: Timing[]
  load: {
    users: number
    seconds: number
    requests: number
    medianMs: number
    p95Ms: number
    maxMs: number
    /** Points stored meanwhile, and the slowest store of one second of all charted hosts. */
    stored: number
    slowestStoreMs: number
    cpuPercent: number
  }
}

const DB = 'query_targets'
const TENANT = 'bench'
const FLEET = 'fleet'
const M = 60_000
const H = 60 * M
const CHUNK_S = 900

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN
}

/** nodeFleet restarts its counters on every call; each chunk carries them on (bench/query-api.ts). */
function continueCounters(series: NodeSeries[], last: Map<string, number>): void {
  for (const s of series) {
    const first = s.points[0]
    if (!s.metric.endsWith('_total') || first === undefined) continue
    const key = `${s.host}\u0000${s.metric}\u0000${JSON.stringify(s.labels)}`
    const prev = last.get(key)
    if (prev !== undefined) {
      const offset = prev + ((s.points[1]?.value ?? first.value) - first.value) - first.value
      for (const p of s.points) p.value += offset
    }
    last.set(key, s.points[s.points.length - 1]?.value ?? first.value)
  }
}

/** The fleet tenant's rows, in SQL: series rows, points and the tier feed of the last `seconds`. */
async function writeFleet(
  clickhouse: ClickHouseClient,
  hosts: number,
  endS: number,
  seconds: number,
): Promise<number> {
  const spec = `SELECT '${FLEET}' AS tenant, 'f-' || leftPad(toString(h), 6, '0') AS host, s.1 AS metric, s.2 AS labels,
      ${SERIES_ID_SQL('tenant', 'metric', 'host', 'labels')} AS series_id, h
    FROM (SELECT number AS h FROM numbers(${hosts}))
    ARRAY JOIN [('node_load1', '{}'), ('node_cpu_seconds_total', '{"cpu":"0","mode":"idle"}'),
      ('node_cpu_seconds_total', '{"cpu":"0","mode":"user"}'), ('node_memory_MemTotal_bytes', '{}'),
      ('node_memory_MemAvailable_bytes', '{}')] AS s`
  await clickhouse.command({ query: `CREATE TABLE ${DB}.fleet_spec ENGINE = Memory AS ${spec}` })
  const startS = endS - seconds
  await clickhouse.command({
    query: `INSERT INTO ${DB}.series SELECT tenant, metric, host, labels, series_id, d
      FROM ${DB}.fleet_spec ARRAY JOIN arrayDistinct([toDate(toDateTime(${startS}, 'UTC')), toDate(toDateTime(${endS}, 'UTC'))]) AS d`,
  })
  // Each host busier than the last; values at whole seconds + 250 ms, as the agents stamp them.
  const busy = '(0.05 + 0.9 * (h % 997) / 997)'
  const value = `multiIf(metric = 'node_load1', 4 * ${busy} + (n % 60) / 600,
      labels LIKE '%idle%', (1 - ${busy}) * (n + 1e5), labels LIKE '%user%', ${busy} * (n + 1e5),
      metric = 'node_memory_MemTotal_bytes', 8e9, 8e9 * (1 - ${busy}))`
  for (let from = 0; from < seconds; from += 120) {
    const select = `SELECT tenant, series_id, toDateTime64(${startS} + n + 0.25, 6, 'UTC') AS ts, ${value} AS value
      FROM ${DB}.fleet_spec AS f, (SELECT number + ${from} AS n FROM numbers(${Math.min(120, seconds - from)})) AS t`
    await clickhouse.command({ query: `INSERT INTO ${DB}.points ${select}` })
    await clickhouse.command({ query: `INSERT INTO ${DB}.points_tier_feed ${select}` })
  }
  await clickhouse.command({
    query: `INSERT INTO ${DB}.sample_log (tenant, host, hostname, agent_id, seq, family, ts, points)
      SELECT '${FLEET}', host, replace(host, 'f-', 'fleet-'), 'a-' || host, 1, 'cpu', toDateTime64(${endS - 1}, 6, 'UTC'), 5
      FROM ${DB}.fleet_spec GROUP BY host`,
  })
  await clickhouse.command({ query: `DROP TABLE ${DB}.fleet_spec` })
  return hosts * 5 * seconds
}

async function waitForMerges(clickhouse: ClickHouseClient): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const rs = await clickhouse.query({
      query: 'SELECT count() AS n FROM system.merges',
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<{ n: string | number }>()
    if (Number(row?.n ?? 0) === 0) return
    await new Promise((r) => setTimeout(r, 1000))
  }
}

export async function benchQueryTargets(o: QueryTargetsOptions = {}): Promise<QueryTargetsResult> {
  const hostCount = o.hosts ?? 10
  const fleetHosts = o.fleetHosts ?? 10_000
  const users = o.users ?? 4
  const loadSeconds = o.loadSeconds ?? 30
  const runs = o.runs ?? 30
  const db = await openEmbeddedClickHouse(DB, 1000)
  const { clickhouse } = db
  let app: Awaited<ReturnType<typeof buildQueryApi>> | undefined
  try {
    const endMs = Math.floor(Date.now() / M) * M
    const hosts = Array.from({ length: hostCount }, (_, i) => ({
      id: `h-${String(i).padStart(3, '0')}`,
      name: `node-${String(i).padStart(3, '0')}`,
    }))
    const sink = new ClickHouseSink(clickhouse, DB)
    const counters = new Map<string, number>()
    let charted = 0
    let t0 = performance.now()
    const store = async (fromMs: number, seconds: number, token: string): Promise<number> => {
      const fleet = nodeFleet({ startMs: fromMs, seconds, intervalMs: 1000, hosts })
      continueCounters(fleet, counters)
      const batch = nodeFleetRows(TENANT, fleet)
      await sink.write(batch, token)
      return batch.values.length
    }
    for (let s = 0; s < 24 * 3600; s += CHUNK_S)
      charted += await store(endMs - 24 * H + s * 1000, CHUNK_S, `chart/${String(s)}`)
    const chartedSeconds = (performance.now() - t0) / 1000
    t0 = performance.now()
    const fleetPoints = await writeFleet(clickhouse, fleetHosts, endMs / 1000, 16 * 60)
    const fleetSeconds = (performance.now() - t0) / 1000
    await waitForMerges(clickhouse)

    const { auth, keys } = await memoryKeys([
      { tenant: TENANT, scopes: ['read'] },
      { tenant: FLEET, scopes: ['read'] },
    ])
    app = await buildQueryApi({
      clickhouse,
      database: DB,
      keys: auth,
      logger: createLogger('bench-query-targets', { level: 'error' }),
      maxPoints: 11_000,
      readiness: [],
      promql: { timeoutMs: 120_000, maxBuckets: 10_000_000, cacheTtlMs: 0 },
      rateLimit: { requestsPerS: 100_000, burstS: 10 },
    })
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    const ask = async (
      key: string,
      path: string,
      params: Record<string, string>,
    ): Promise<{ ms: number; source: string }> => {
      const t = performance.now()
      const res = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`, {
        headers: { authorization: `Bearer ${key}` },
      })
      const text = await res.text()
      const ms = performance.now() - t
      if (res.status !== 200)
        throw new Error(`${path} ${JSON.stringify(params)}: ${String(res.status)} ${text.slice(0, 300)}`)
      const body = JSON.parse(text) as { source?: string }
      return { ms, source: res.headers.get('x-procstream-sources') ?? body.source ?? '' }
    }
    const timings: Timing[] = []
    const timed = async (
      what: string,
      target: string,
      key: string,
      path: string,
      params: Record<string, string>,
      n = runs,
    ): Promise<void> => {
      const first = await ask(key, path, params)
      const ms: number[] = []
      const cpu: number[] = []
      for (let i = 0; i < n; i++) {
        const c0 = process.cpuUsage()
        ms.push((await ask(key, path, params)).ms)
        const c = process.cpuUsage(c0)
        cpu.push((c.user + c.system) / 1000)
      }
      timings.push({
        what,
        target,
        request: `${path} ${params.query ?? params.metric ?? ''}`.trim(),
        runs: n,
        medianMs: quantile(ms, 0.5),
        p95Ms: quantile(ms, 0.95),
        maxMs: Math.max(...ms),
        cpuMs: quantile(cpu, 0.5),
        source: first.source,
      })
    }
    const [chartKey = '', fleetKey = ''] = keys
    const day = { from: String(endMs - 24 * H), to: String(endMs) }
    const host = hosts[0] ?? { id: '', name: '' }
    await timed('24 h host chart: CPU by mode', '≤ 20 ms p95', chartKey, '/api/series', {
      host: host.id,
      metric: 'node_cpu_seconds_total',
      fn: 'rate',
      sum_by: 'mode',
      points: '1000',
      ...day,
    })
    await timed('24 h host chart: load', '≤ 20 ms p95', chartKey, '/api/series', {
      host: host.id,
      metric: 'node_load1',
      points: '1000',
      ...day,
    })
    // Grafana: 24 h over a ~1000 px panel is a 1 min step, $__rate_interval 75 s with a 15 s scrape.
    const grafanaDay = { start: String((endMs - 24 * H) / 1000), end: String(endMs / 1000), step: '60' }
    await timed('24 h host chart, as Grafana asks', '≤ 20 ms p95', chartKey, '/api/v1/query_range', {
      query: `sum by (mode) (rate(node_cpu_seconds_total{instance="${host.name}"}[75s]))`,
      ...grafanaDay,
    })
    const now = String(endMs / 1000)
    await timed(
      'fleet top 10 by load',
      '≤ 100 ms p95',
      fleetKey,
      '/api/v1/query',
      { query: 'topk(10, node_load1)', time: now },
      10,
    )
    await timed(
      'fleet top 10 by CPU busy',
      '≤ 100 ms p95',
      fleetKey,
      '/api/v1/query',
      {
        query: 'topk(10, 100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))))',
        time: now,
      },
      10,
    )
    await timed(
      'fleet view, every host ranked',
      '≤ 100 ms p95',
      fleetKey,
      '/api/fleet',
      { from: String(endMs - 15 * M), to: String(endMs), points: '40' },
      5,
    )

    // Under load: users open the five panels of the last hour at once, over and over, while the
    // charted hosts' next seconds are stored as they come.
    const hour = { start: String((endMs - H) / 1000), end: String(endMs / 1000), step: '60' }
    const panels = [
      `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[4m])))`,
      `sum by (instance) (rate(node_network_receive_bytes_total{device!="lo"}[4m]))`,
      '100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)',
      `sum by (mode) (rate(node_cpu_seconds_total{instance="${host.name}"}[4m]))`,
      'topk(5, avg_over_time(node_load1[4m]))',
    ]
    const latencies: number[] = []
    let stored = 0
    let slowestStore = 0
    const stopAt = performance.now() + loadSeconds * 1000
    const cpu0 = process.cpuUsage()
    const wall0 = performance.now()
    const writer = (async () => {
      for (let s = 0; performance.now() < stopAt; s++) {
        const t = performance.now()
        stored += await store(endMs + s * 1000, 1, `live/${String(s)}`)
        slowestStore = Math.max(slowestStore, performance.now() - t)
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - t))))
      }
    })()
    const user = async (): Promise<void> => {
      while (performance.now() < stopAt) {
        const answers = await Promise.all(
          panels.map((query) => ask(chartKey, '/api/v1/query_range', { query, ...hour })),
        )
        for (const a of answers) latencies.push(a.ms)
      }
    }
    await Promise.all([writer, ...Array.from({ length: users }, user)])
    const cpu = process.cpuUsage(cpu0)
    return {
      hosts: hostCount,
      fleetHosts,
      points: { charted, fleet: fleetPoints },
      insertSeconds: { charted: chartedSeconds, fleet: fleetSeconds },
      timings,
      load: {
        users,
        seconds: loadSeconds,
        requests: latencies.length,
        medianMs: quantile(latencies, 0.5),
        p95Ms: quantile(latencies, 0.95),
        maxMs: Math.max(...latencies),
        stored,
        slowestStoreMs: slowestStore,
        cpuPercent: (100 * (cpu.user + cpu.system)) / 1000 / (performance.now() - wall0),
      },
    }
  } finally {
    await app?.close()
    await db.close()
  }
}

export function queryTargetsMarkdown(r: QueryTargetsResult): string {
  const n = (v: number): string => v.toLocaleString('en')
  const lines = [
    `Embedded ClickHouse in the API's process, answer cache off. Charted: ${n(r.hosts)} hosts × 24 h at 1 s, ${n(r.points.charted)} points through the processor's sink (${r.insertSeconds.charted.toFixed(0)} s); fleet: ${n(r.fleetHosts)} hosts × 5 series × 16 min at 1 s, ${n(r.points.fleet)} points by SQL (${r.insertSeconds.fleet.toFixed(0)} s).`,
    '',
    '| what | target | source | runs | median ms | p95 ms | max ms | CPU ms (median) |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.timings.map(
      (t) =>
        `| ${t.what} | ${t.target} | ${t.source} | ${String(t.runs)} | ${t.medianMs.toFixed(1)} | ${t.p95Ms.toFixed(1)} | ${t.maxMs.toFixed(1)} | ${t.cpuMs?.toFixed(1) ?? ''} |`,
    ),
    '',
    `Under load: ${String(r.load.users)} users each opening 5 panels (last 1 h, step 60 s) at once, over and over for ${String(r.load.seconds)} s, while ${n(r.hosts)} hosts' samples were stored every second (${n(r.load.stored)} points; slowest second stored in ${r.load.slowestStoreMs.toFixed(0)} ms): ${n(r.load.requests)} panel requests, median ${r.load.medianMs.toFixed(1)} ms, p95 ${r.load.p95Ms.toFixed(1)} ms (target ≤ 200 ms), max ${r.load.maxMs.toFixed(1)} ms; this process used ${r.load.cpuPercent.toFixed(0)} % of one core.`,
  ]
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string' },
      'fleet-hosts': { type: 'string' },
      users: { type: 'string' },
      'load-seconds': { type: 'string' },
      runs: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  const int = (v: string | undefined, fallback: number, min: number, max: number, name: string): number => {
    const x = Number(v ?? fallback)
    if (!Number.isInteger(x) || x < min || x > max) {
      process.stderr.write(`--${name} must be a whole number from ${String(min)} to ${String(max)}\n`)
      process.exit(2)
    }
    return x
  }
  const result = await benchQueryTargets({
    hosts: int(values.hosts, 10, 1, 100, 'hosts'),
    fleetHosts: int(values['fleet-hosts'], 10_000, 1, 100_000, 'fleet-hosts'),
    users: int(values.users, 4, 1, 64, 'users'),
    loadSeconds: int(values['load-seconds'], 30, 5, 600, 'load-seconds'),
    runs: int(values.runs, 30, 3, 1000, 'runs'),
  })
  process.stdout.write(
    values.json ? `${JSON.stringify(result, null, 2)}\n` : `${queryTargetsMarkdown(result)}\n`,
  )
}
