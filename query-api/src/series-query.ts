import type { ClickHouseClient } from '@clickhouse/client'
import { QueryApiError } from './errors.ts'

export interface SeriesRequest {
  tenant: string
  host: string
  metric: string
  fn: 'raw' | 'rate'
  sumBy: string[] | undefined
  fromMs: number
  toMs: number
  points: number
}

export interface SeriesResponse {
  metric: string
  host: string
  fn: 'raw' | 'rate'
  step_ms: number
  /** Unix seconds, as uPlot takes them. */
  timestamps: number[]
  series: { labels: Record<string, string>; values: (number | null)[] }[]
}

const MIN_STEP_MS = 1_000

/** Step from the requested number of points, rounded to whole seconds (raw data is at most 1 Hz-ish). */
export function stepFor(fromMs: number, toMs: number, points: number): number {
  const raw = Math.ceil((toMs - fromMs) / Math.max(points, 1))
  return Math.max(MIN_STEP_MS, Math.ceil(raw / 1000) * 1000)
}

/**
 * Bucketed values of one metric of one host. Gauges are averaged per bucket. Counters become rates:
 * each sample's increase over its predecessor (a decrease means a counter reset, so the new value is
 * the increase, as Prometheus does), summed per bucket and divided by the time those increases span.
 */
function sql(database: string, fn: 'raw' | 'rate'): string {
  const where = `tenant = {tenant:String} AND metric = {metric:String} AND host = {host:String}
      AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})`
  if (fn === 'raw') {
    return `SELECT labels, intDiv(toUnixTimestamp64Milli(ts), {step:Int64}) * {step:Int64} AS t, avg(value) AS v
      FROM ${database}.metrics_raw WHERE ${where}
      GROUP BY labels, t ORDER BY labels, t`
  }
  return `SELECT labels, intDiv(toUnixTimestamp64Milli(ts), {step:Int64}) * {step:Int64} AS t,
        sum(if(value >= pv, value - pv, value)) / (sum(toUnixTimestamp64Micro(ts) - toUnixTimestamp64Micro(pts)) / 1e6) AS v
      FROM (
        SELECT labels, ts, value,
          lagInFrame(value) OVER w AS pv, lagInFrame(ts) OVER w AS pts, row_number() OVER w AS rn
        FROM ${database}.metrics_raw
        WHERE tenant = {tenant:String} AND metric = {metric:String} AND host = {host:String}
          AND ts >= fromUnixTimestamp64Milli({from:Int64} - {step:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})
        WINDOW w AS (PARTITION BY labels ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
      )
      WHERE rn > 1 AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts > pts
      GROUP BY labels, t ORDER BY labels, t`
}

export async function querySeries(
  client: ClickHouseClient,
  database: string,
  req: SeriesRequest,
): Promise<SeriesResponse> {
  const step = stepFor(req.fromMs, req.toMs, req.points)
  const first = Math.floor(req.fromMs / step) * step
  const buckets = Math.max(0, Math.ceil((req.toMs - first) / step))
  const timestamps = Array.from({ length: buckets }, (_, i) => (first + i * step) / 1000)
  let rows: { labels: string; t: string; v: number | null }[]
  try {
    const rs = await client.query({
      query: sql(database, req.fn),
      query_params: {
        tenant: req.tenant,
        metric: req.metric,
        host: req.host,
        from: first,
        to: req.toMs,
        step,
      },
      format: 'JSONEachRow',
      // No per-query settings here: embedded chdb runs every query in one session, so a setting such as
      // readonly=1 would stay set and make the processor's next insert fail in the same process.
    })
    rows = await rs.json()
  } catch (err) {
    throw new QueryApiError('BACKEND', `series query failed: ${String(err)}`, { cause: err })
  }
  // Series keyed by their (possibly projected) label set; values summed when sum_by merges several.
  const series = new Map<string, { labels: Record<string, string>; values: (number | null)[] }>()
  for (const row of rows) {
    const idx = Math.round((Number(row.t) - first) / step)
    if (idx < 0 || idx >= buckets || row.v === null || !Number.isFinite(row.v)) continue
    const all = JSON.parse(row.labels) as Record<string, string>
    const labels = req.sumBy ? project(all, req.sumBy) : all
    const key = JSON.stringify(labels)
    let s = series.get(key)
    if (!s) {
      s = { labels, values: new Array<number | null>(buckets).fill(null) }
      series.set(key, s)
    }
    s.values[idx] = (s.values[idx] ?? 0) + row.v
  }
  return {
    metric: req.metric,
    host: req.host,
    fn: req.fn,
    step_ms: step,
    timestamps,
    series: [...series.values()].sort((a, b) =>
      JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)),
    ),
  }
}

function project(labels: Record<string, string>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of keys) out[k] = labels[k] ?? ''
  return out
}

export interface HostInfo {
  host_id: string
  hostname: string
  last_seen_ms: number
}

export async function queryHosts(
  client: ClickHouseClient,
  database: string,
  tenant: string,
): Promise<HostInfo[]> {
  try {
    const rs = await client.query({
      query: `SELECT host AS host_id, argMax(hostname, ts) AS hostname, toUnixTimestamp64Milli(max(ts)) AS last_seen_ms
        FROM ${database}.sample_log WHERE tenant = {tenant:String}
        GROUP BY host ORDER BY last_seen_ms DESC LIMIT 10000`,
      query_params: { tenant },
      format: 'JSONEachRow',
    })
    const rows = await rs.json<{ host_id: string; hostname: string; last_seen_ms: string | number }>()
    return rows.map((r) => ({
      host_id: r.host_id,
      hostname: r.hostname,
      last_seen_ms: Number(r.last_seen_ms),
    }))
  } catch (err) {
    throw new QueryApiError('BACKEND', `host list query failed: ${String(err)}`, { cause: err })
  }
}
