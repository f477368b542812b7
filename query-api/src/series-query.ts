import type { ClickHouseClient } from '@clickhouse/client'
import { POINTS_TABLE, SERIES_TABLE } from '#schemas/clickhouse/ddl.ts'
import { QueryApiError } from './errors.ts'
import { ONE_THREAD_ROWS, tierTable } from './promql/buckets.ts'
import { utcDay } from './promql/selector-sql.ts'

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
  /** Where the values came from: metrics_raw (raw points) or a rollup tier, as TIERS names them. */
  source: string
  /** Unix seconds, as uPlot takes them. */
  timestamps: number[]
  series: { labels: Record<string, string>; values: (number | null)[] }[]
}

const MIN_STEP_MS = 1_000

/**
 * The rollup tiers, coarsest first, by bucket width: named as the API's `source` has always named
 * them; the series-id layout stores them in points_10s/1m/1h (tierTable in promql/buckets.ts).
 */
const TIERS = [
  { table: 'metrics_1h', widthMs: 3_600_000 },
  { table: 'metrics_1m', widthMs: 60_000 },
  { table: 'metrics_10s', widthMs: 10_000 },
] as const

export interface Resolution {
  stepMs: number
  /** The rollup tier to read, or undefined for raw points. */
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

function tierWidthMs(tier: NonNullable<Resolution['tier']>): number {
  return TIERS.find((t) => t.table === tier)?.widthMs ?? 1000
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

/** The series of one host's metric with values on the days of the range. */
const chartSeries = (
  database: string,
): string => `SELECT toString(series_id) AS id, labels FROM ${database}.${SERIES_TABLE}
  WHERE tenant = {tenant:String} AND metric = {metric:String} AND host = {host:String}
    AND day >= {dayFrom:Date} AND day <= {dayTo:Date}
  LIMIT 1 BY series_id`

/** The points (or tier rows) of the series found, by id and by their own tenant. */
const BY_ID = 'tenant = {tenant:String} AND series_id IN {ids:Array(UInt64)}'

/**
 * Bucketed values of the series found, one row per series: its id and its buckets' times and
 * values. Gauges are averaged per bucket. Counters become rates: each sample's increase over its
 * predecessor (a decrease means a counter reset, so the new value is the increase, as Prometheus
 * does), summed per bucket and divided by the time those increases span.
 */
function sql(database: string, fn: 'raw' | 'rate', tier: Resolution['tier'], oneThread: boolean): string {
  const rows = tier !== undefined ? tierSql(`${database}.${tierTable(tier)}`, fn) : rawSql(database, fn)
  // A tier's partitions hold whole buckets, so FINAL need not merge across them.
  return `SELECT toString(series_id) AS id, groupArray(t) AS ts, groupArray(v) AS vs FROM (${rows}) GROUP BY series_id
    SETTINGS do_not_merge_across_partitions_select_final = 1${oneThread ? ', max_threads = 1' : ''}`
}

function rawSql(database: string, fn: 'raw' | 'rate'): string {
  const table = `${database}.${POINTS_TABLE}`
  if (fn === 'raw') {
    return `SELECT series_id, intDiv(toUnixTimestamp64Milli(ts), {step:Int64}) * {step:Int64} AS t, avg(value) AS v
      FROM ${table}
      WHERE ${BY_ID} AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})
      GROUP BY series_id, t`
  }
  return `SELECT series_id, intDiv(toUnixTimestamp64Milli(ts), {step:Int64}) * {step:Int64} AS t,
        sum(if(value >= pv, value - pv, value)) / (sum(toUnixTimestamp64Micro(ts) - toUnixTimestamp64Micro(pts)) / 1e6) AS v
      FROM (
        SELECT series_id, ts, value,
          lagInFrame(value) OVER w AS pv, lagInFrame(ts) OVER w AS pts, row_number() OVER w AS rn
        FROM ${table}
        WHERE ${BY_ID}
          AND ts >= fromUnixTimestamp64Milli({from:Int64} - {step:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})
        WINDOW w AS (PARTITION BY series_id ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
      )
      WHERE rn > 1 AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts > pts
      GROUP BY series_id, t`
}

/**
 * The same from a rollup tier, whose buckets divide the step. Gauges: sum of sums over sum of counts,
 * the exact mean of the raw values. Counters: the increase between the last value of consecutive
 * steps (a decrease is a reset: the new value is the increase) over the time between them, as
 * Prometheus's rate over one step; the last value of a step is that of its latest bucket.
 */
function tierSql(table: string, fn: 'raw' | 'rate'): string {
  const t = `intDiv(toUnixTimestamp(bucket) * 1000, {step:Int64}) * {step:Int64}`
  if (fn === 'raw') {
    return `SELECT series_id, ${t} AS t, sum(value_sum) / sum(value_count) AS v
      FROM ${table}
      WHERE ${BY_ID} AND bucket >= toDateTime(intDiv({from:Int64}, 1000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000))
      GROUP BY series_id, t`
  }
  // FINAL merges a tier bucket's rows as the engine's merges would, in the table's order, where a
  // GROUP BY (series, bucket) of the states hashes every row first (promql/buckets.ts measured it).
  return `SELECT series_id, t, if(last >= pl, last - pl, last) / ((t - pt) / 1000) AS v
    FROM (
      SELECT series_id, t, last, lagInFrame(last) OVER w AS pl, lagInFrame(t) OVER w AS pt, row_number() OVER w AS rn
      FROM (
        SELECT series_id, ${t} AS t, argMax(finalizeAggregation(value_last), bucket) AS last
        FROM ${table} FINAL
        WHERE ${BY_ID} AND bucket >= toDateTime(intDiv({from:Int64} - {step:Int64}, 1000))
          AND bucket < toDateTime(intDiv({to:Int64}, 1000))
        GROUP BY series_id, t
      )
      WINDOW w AS (PARTITION BY series_id ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    )
    WHERE rn > 1 AND t >= {from:Int64}`
}

/**
 * A chart reads the series table once, for the host's series of the metric (ids and labels), then
 * the points of those ids; the labels never travel with the points (as promql/buckets.ts reads).
 */
export async function querySeries(
  client: ClickHouseClient,
  database: string,
  req: SeriesRequest,
): Promise<SeriesResponse> {
  const { stepMs: step, tier, first, buckets, timestamps } = chartGrid(req.fromMs, req.toMs, req.points)
  const params = {
    tenant: req.tenant,
    metric: req.metric,
    host: req.host,
    from: first,
    to: req.toMs,
    step,
    // A rate reads one step before the range.
    dayFrom: utcDay(first - step),
    dayTo: utcDay(req.toMs),
  }
  // No per-query settings here: embedded chdb runs every query in one session, so a setting such as
  // readonly=1 would stay set and make the processor's next insert fail in the same process.
  let found: { id: string; labels: string }[]
  let rows: [string, (number | string)[], (number | null)[]][] = []
  try {
    const rs = await client.query({
      query: chartSeries(database),
      query_params: params,
      format: 'JSONEachRow',
    })
    found = await rs.json()
    if (found.length > 0) {
      const points = await client.query({
        // One thread for what a chart usually reads (promql/buckets.ts ONE_THREAD_ROWS says why).
        query: sql(
          database,
          req.fn,
          tier,
          (found.length * (req.toMs - first + step)) / (tier ? tierWidthMs(tier) : 1000) <= ONE_THREAD_ROWS,
        ),
        query_params: { ...params, ids: found.map((s) => BigInt(s.id)) },
        format: 'JSONCompactEachRow',
      })
      rows = await points.json()
    }
  } catch (err) {
    throw new QueryApiError('BACKEND', `series query failed: ${String(err)}`, { cause: err })
  }
  const byId = new Map(rows.map(([id, ts, vs]) => [id, { ts, vs }]))
  // Series keyed by their (possibly projected) label set; values summed when sum_by merges several,
  // in the order of the stored labels, so the sums come out the same on every call.
  const series = new Map<string, { labels: Record<string, string>; values: (number | null)[] }>()
  for (const s of found.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0))) {
    const values = byId.get(s.id)
    if (!values) continue
    const all = JSON.parse(s.labels) as Record<string, string>
    const labels = req.sumBy ? project(all, req.sumBy) : all
    const key = JSON.stringify(labels)
    values.ts.forEach((t, i) => {
      const v = values.vs[i]
      const idx = Math.round((Number(t) - first) / step)
      if (idx < 0 || idx >= buckets || v === null || v === undefined || !Number.isFinite(v)) return
      let out = series.get(key)
      if (!out) {
        out = { labels, values: new Array<number | null>(buckets).fill(null) }
        series.set(key, out)
      }
      out.values[idx] = (out.values[idx] ?? 0) + v
    })
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
