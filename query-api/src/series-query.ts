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
  /** Where the values came from: metrics_raw or a rollup tier. */
  source: string
  /** Unix seconds, as uPlot takes them. */
  timestamps: number[]
  series: { labels: Record<string, string>; values: (number | null)[] }[]
}

const MIN_STEP_MS = 1_000

/** The rollup tables of schemas/clickhouse/ddl.ts, coarsest first, by bucket width. */
const TIERS = [
  { table: 'metrics_1h', widthMs: 3_600_000 },
  { table: 'metrics_1m', widthMs: 60_000 },
  { table: 'metrics_10s', widthMs: 10_000 },
] as const

export interface Resolution {
  stepMs: number
  /** The rollup table to read, or undefined for metrics_raw. */
  tier: (typeof TIERS)[number]['table'] | undefined
}

/**
 * Step and source for a chart of `points` points. A step of at least four buckets of a tier is rounded
 * up to whole buckets (at most 25 % fewer points than asked) and read from that tier: a 24 h chart
 * reads 1-minute rows instead of 86,400 raw ones per series. Shorter steps read raw, in whole seconds.
 */
export function resolutionFor(fromMs: number, toMs: number, points: number): Resolution {
  const raw = Math.ceil((toMs - fromMs) / Math.max(points, 1))
  for (const t of TIERS) {
    if (raw >= 4 * t.widthMs) return { stepMs: Math.ceil(raw / t.widthMs) * t.widthMs, tier: t.table }
  }
  return { stepMs: Math.max(MIN_STEP_MS, Math.ceil(raw / 1000) * 1000), tier: undefined }
}

/** The buckets a chart of [fromMs, toMs) gets: the resolution, the first bucket, their count and starts (s). */
export function chartGrid(
  fromMs: number,
  toMs: number,
  points: number,
): Resolution & { first: number; buckets: number; timestamps: number[] } {
  const resolution = resolutionFor(fromMs, toMs, points)
  const step = resolution.stepMs
  const first = Math.floor(fromMs / step) * step
  const buckets = Math.max(0, Math.ceil((toMs - first) / step))
  const timestamps = Array.from({ length: buckets }, (_, i) => (first + i * step) / 1000)
  return { ...resolution, first, buckets, timestamps }
}

/**
 * Bucketed values of one metric of one host. Gauges are averaged per bucket. Counters become rates:
 * each sample's increase over its predecessor (a decrease means a counter reset, so the new value is
 * the increase, as Prometheus does), summed per bucket and divided by the time those increases span.
 */
function sql(database: string, fn: 'raw' | 'rate', tier: Resolution['tier']): string {
  if (tier !== undefined) return tierSql(`${database}.${tier}`, fn)
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

/**
 * The same from a rollup tier, whose buckets divide the step. Gauges: sum of sums over sum of counts,
 * the exact mean of the raw values. Counters: the increase between the last value of consecutive
 * steps (a decrease is a reset: the new value is the increase) over the time between them, as
 * Prometheus's rate over one step; the last value of a step is that of its latest bucket.
 */
function tierSql(table: string, fn: 'raw' | 'rate'): string {
  const where = `tenant = {tenant:String} AND metric = {metric:String} AND host = {host:String}`
  const t = `intDiv(toUnixTimestamp(bucket) * 1000, {step:Int64}) * {step:Int64}`
  if (fn === 'raw') {
    return `SELECT labels, ${t} AS t, sum(value_sum) / sum(value_count) AS v
      FROM ${table}
      WHERE ${where} AND bucket >= toDateTime(intDiv({from:Int64}, 1000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000))
      GROUP BY labels, t ORDER BY labels, t`
  }
  return `SELECT labels, t, if(last >= pl, last - pl, last) / ((t - pt) / 1000) AS v
    FROM (
      SELECT labels, t, last, lagInFrame(last) OVER w AS pl, lagInFrame(t) OVER w AS pt, row_number() OVER w AS rn
      FROM (
        SELECT labels, ${t} AS t, argMax(last, bucket) AS last
        FROM (
          SELECT labels, bucket, argMaxMerge(value_last) AS last
          FROM ${table}
          WHERE ${where} AND bucket >= toDateTime(intDiv({from:Int64} - {step:Int64}, 1000))
            AND bucket < toDateTime(intDiv({to:Int64}, 1000))
          GROUP BY labels, bucket
        )
        GROUP BY labels, t
      )
      WINDOW w AS (PARTITION BY labels ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    )
    WHERE rn > 1 AND t >= {from:Int64}
    ORDER BY labels, t`
}

export async function querySeries(
  client: ClickHouseClient,
  database: string,
  req: SeriesRequest,
): Promise<SeriesResponse> {
  const { stepMs: step, tier, first, buckets, timestamps } = chartGrid(req.fromMs, req.toMs, req.points)
  let rows: { labels: string; t: string; v: number | null }[]
  try {
    const rs = await client.query({
      query: sql(database, req.fn, tier),
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
    source: tier ?? 'metrics_raw',
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
