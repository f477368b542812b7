import type { ClickHouseClient } from '@clickhouse/client'
import { PromQLError } from './errors.ts'
import { seriesLabels, type Labels } from './labels.ts'
import type { SelectorWhere } from './selector-sql.ts'

/**
 * How one selector is read: the samples of every matching series, summed up per bucket of a grid, in
 * ClickHouse, so that what crosses the wire is a few numbers per bucket, not every sample.
 *
 * The grid: buckets of width `g` ending at `origin + j·g` (j = 1 … count), each holding the samples
 * with origin + (j−1)·g < ts ≤ origin + j·g, left-open as Prometheus 3 windows are. The evaluator
 * picks `g` so that every window it needs, (T − W, T] for each evaluation time T, is a whole run of
 * buckets; then first, last, count, sum, min, max and counter resets of a window follow exactly
 * from its buckets (windows.ts), for any window width and step.
 *
 * A rollup tier can stand in for raw when its buckets tile the grid. Its rows become one "sample"
 * per tier bucket, stamped at the bucket's end with the bucket's last value, and carry the tier's
 * count, sum, min and max: exact for *_over_time, and rate/irate/delta/instant values as if the
 * series had been sampled once per tier bucket (README.md, "Rollups").
 */
export interface Bucket {
  /** 1-based index in the grid. */
  j: number
  /** Samples in the bucket (from a tier: the raw samples its rows summarise). */
  n: number
  /** Points the bucket's first/last/prev come from: samples, or one per tier bucket. */
  points: number
  sum: number
  min: number
  max: number
  /** First and last sample: value and time in µs. */
  firstV: number
  firstT: number
  lastV: number
  lastT: number
  /** The sample before the last one (maybe in an earlier bucket); prevT is 0 if there is none. */
  prevV: number
  prevT: number
  /** Sum of the pre-reset values of counter resets in the bucket, and the one at its first sample. */
  resets: number
  firstReset: number
}

export interface BucketSeries {
  labels: Labels
  buckets: Bucket[]
}

export interface Grid {
  /** ms since the epoch; the start of bucket 1. */
  origin: number
  /** Bucket width, ms. */
  width: number
  count: number
}

export const TIERS = [
  { table: 'metrics_1h', widthMs: 3_600_000 },
  { table: 'metrics_1m', widthMs: 60_000 },
  { table: 'metrics_10s', widthMs: 10_000 },
] as const

/** A tier is read once a step spans this many of its buckets: coarser reads, still dense charts. */
export const TIER_MIN_BUCKETS_PER_STEP = 4
/**
 * An instant query has no step to fill; it reads a tier only for a window of this many of its
 * buckets (10 s buckets from 1 h up), where one bucket more or less at the edges changes little.
 */
export const TIER_MIN_BUCKETS_PER_INSTANT_WINDOW = 360

export type Source = 'metrics_raw' | (typeof TIERS)[number]['table']

/**
 * The coarsest tier whose buckets tile the grid and are small next to the step (or, for an instant
 * query, next to the window); else raw.
 */
export function sourceFor(
  grid: Grid,
  stepMs: number | undefined,
  windowMs: number,
): { table: Source; widthMs: number } {
  for (const t of TIERS) {
    if (grid.width % t.widthMs !== 0 || grid.origin % t.widthMs !== 0) continue
    if (
      stepMs === undefined
        ? windowMs >= TIER_MIN_BUCKETS_PER_INSTANT_WINDOW * t.widthMs
        : stepMs >= TIER_MIN_BUCKETS_PER_STEP * t.widthMs
    )
      return t
  }
  return { table: 'metrics_raw', widthMs: 0 }
}

function sourceSql(database: string, where: string, source: { table: Source; widthMs: number }): string {
  if (source.table === 'metrics_raw') {
    return `SELECT metric, host, labels, toUnixTimestamp64Micro(ts) AS t, value AS v,
        1 AS c, value AS s, value AS lo, value AS hi
      FROM ${database}.metrics_raw
      WHERE ${where} AND ts > fromUnixTimestamp64Micro({from:Int64}) AND ts <= fromUnixTimestamp64Micro({to:Int64})`
  }
  // A tier bucket [b, b + w) stands as one sample at b + w, so it belongs to the grid bucket that
  // ends at or after b + w; the grid is aligned to w, so whole tier buckets fall in one grid bucket.
  return `SELECT metric, host, labels, (toInt64(toUnixTimestamp(bucket)) * 1000 + {w:Int64}) * 1000 AS t,
      argMaxMerge(value_last) AS v, sum(value_count) AS c, sum(value_sum) AS s, min(value_min) AS lo, max(value_max) AS hi
    FROM ${database}.${source.table}
    WHERE ${where} AND bucket >= toDateTime(intDiv({from:Int64}, 1000000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000000))
    GROUP BY metric, host, labels, bucket`
}

function bucketSql(
  database: string,
  where: string,
  source: { table: Source; widthMs: number },
  timeoutS: number,
): string {
  return `SELECT metric, host, labels, toInt32(b) AS j, toFloat64(sum(c)) AS n, toFloat64(count()) AS points, sum(s) AS sum, min(lo) AS min, max(hi) AS max,
      argMin(v, t) AS firstV, toFloat64(min(t)) AS firstT, argMax(v, t) AS lastV, toFloat64(max(t)) AS lastT,
      argMax(pv, t) AS prevV, toFloat64(argMax(pt, t)) AS prevT, sum(r) AS resets, argMin(r, t) AS firstReset
    FROM (
      SELECT metric, host, labels, t, v, c, s, lo, hi, pv, pt,
        intDiv(t - {from:Int64} + {g:Int64} - 1, {g:Int64}) AS b,
        if(pt > 0 AND v < pv, pv, 0) AS r
      FROM (
        SELECT metric, host, labels, t, v, c, s, lo, hi,
          lagInFrame(v, 1, 0) OVER w AS pv, lagInFrame(t, 1, 0) OVER w AS pt
        FROM (${sourceSql(database, where, source)})
        WINDOW w AS (PARTITION BY metric, host, labels ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
      )
    )
    GROUP BY metric, host, labels, j
    ORDER BY metric, host, labels, j
    LIMIT {limit:UInt64}
    SETTINGS max_execution_time = ${String(timeoutS)}`
}

interface Row extends Omit<Bucket, never> {
  metric: string
  host: string
  labels: string
}

export interface FetchOptions {
  client: ClickHouseClient
  database: string
  where: SelectorWhere
  hostnames: ReadonlyMap<string, string>
  grid: Grid
  /** undefined for an instant query. */
  stepMs: number | undefined
  windowMs: number
  /** Buckets a query may read in all, over all its selectors; past it the query fails. */
  maxBuckets: number
  /**
   * ClickHouse stops the query after this long itself; the signal alone may not reach an embedded
   * engine. A per-query SETTINGS clause, not a session setting, so nothing outlives the query.
   */
  timeoutMs: number
  signal?: AbortSignal | undefined
}

export interface Fetched {
  series: BucketSeries[]
  source: Source
  buckets: number
}

export async function fetchBuckets(o: FetchOptions): Promise<Fetched> {
  const source = sourceFor(o.grid, o.stepMs, o.windowMs)
  if (!o.where.possible || o.grid.count <= 0) return { series: [], source: source.table, buckets: 0 }
  const from = o.grid.origin * 1000
  let rows: Row[]
  try {
    const rs = await o.client.query({
      query: bucketSql(o.database, o.where.sql, source, Math.max(1, Math.ceil(o.timeoutMs / 1000))),
      query_params: {
        ...o.where.params,
        from,
        to: (o.grid.origin + o.grid.count * o.grid.width) * 1000,
        g: o.grid.width * 1000,
        w: source.widthMs,
        limit: o.maxBuckets + 1,
      },
      format: 'JSONEachRow',
      abort_signal: o.signal,
    })
    rows = await rs.json<Row>()
  } catch (err) {
    if (o.signal?.aborted) throw new PromQLError('timeout', 'query timed out', { cause: err })
    throw new PromQLError('unavailable', `storage query failed: ${String(err)}`, { cause: err })
  }
  if (rows.length > o.maxBuckets)
    throw new PromQLError(
      'execution',
      `query processing would load too many samples into memory (more than ${o.maxBuckets} buckets); narrow the selector or raise the step`,
    )
  const series: BucketSeries[] = []
  let current: BucketSeries | undefined
  let currentKey = ''
  for (const r of rows) {
    const key = `${r.metric}\u0000${r.host}\u0000${r.labels}`
    if (current === undefined || key !== currentKey) {
      current = {
        labels: seriesLabels(r.metric, r.host, o.hostnames.get(r.host) ?? '', r.labels),
        buckets: [],
      }
      currentKey = key
      series.push(current)
    }
    current.buckets.push({
      j: r.j,
      n: r.n,
      points: r.points,
      sum: r.sum,
      min: r.min,
      max: r.max,
      firstV: r.firstV,
      firstT: r.firstT,
      lastV: r.lastV,
      lastT: r.lastT,
      prevV: r.prevV,
      prevT: r.prevT,
      resets: r.resets,
      firstReset: r.firstReset,
    })
  }
  return { series, source: source.table, buckets: rows.length }
}
