import type { ClickHouseClient } from '@clickhouse/client'
import { PromQLError } from './errors.ts'
import { seriesLabels, type Labels } from './labels.ts'
import type { SelectorWhere } from './selector-sql.ts'

/**
 * How one selector is read: the samples of every matching series, summed up per bucket of a grid, in
 * ClickHouse, so that what crosses the wire is a few numbers per bucket, not every sample.
 *
 * The grid (planRead): periods of one step ending at the evaluation times, each cut in two where a
 * window starts when the window is not a whole number of steps; buckets are left-open, (a, b], as
 * Prometheus 3 windows are. So every window the evaluator needs, (T − W, T] for each evaluation
 * time T, is a whole run of buckets, with at most two buckets per step and series; first, last,
 * count, sum, min, max and counter resets of a window follow exactly from its buckets (windows.ts),
 * for any window width and step.
 *
 * A rollup tier can stand in for raw (planRead, README.md "Rollups"). Its rows become one "sample"
 * per tier bucket, stamped at the bucket's end with the bucket's last value, and carry the tier's
 * count, sum, min and max: exact for *_over_time when windows are whole tier buckets on tier bucket
 * edges, and rate/irate/delta/instant values as if the series had been sampled once per tier bucket.
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
  /** ms since the epoch; the start of period 1. */
  origin: number
  /** Period length, ms: the step (for an instant query, the window). */
  period: number
  periods: number
  /**
   * 0: one bucket per period. Else each period (e − period, e] is cut in two buckets,
   * (e − period, e − cut] and (e − cut, e].
   */
  cut: number
}

export const TIERS = [
  { table: 'metrics_1h', widthMs: 3_600_000 },
  { table: 'metrics_1m', widthMs: 60_000 },
  { table: 'metrics_10s', widthMs: 10_000 },
] as const

/** A range query reads a tier only when its step spans at least this many of the tier's buckets. */
export const TIER_MIN_BUCKETS_PER_STEP = 4
/**
 * …and its window too (as Prometheus wants a rate window to hold 4 scrapes): a window that is not a
 * whole number of tier buckets is then read rounded to one, which moves its start by at most half a
 * tier bucket, an eighth of the window at most.
 */
export const TIER_MIN_BUCKETS_PER_WINDOW = 4
/**
 * An instant query has no step to fill; it reads a tier only for a window of this many of its
 * buckets (10 s buckets from 1 h up), where one bucket more or less at the edges changes little.
 */
export const TIER_MIN_BUCKETS_PER_INSTANT_WINDOW = 360

export type Source = 'metrics_raw' | (typeof TIERS)[number]['table']

/**
 * What a selector's values are computed from. `samples`: plain selectors and `*_over_time`, whose
 * value from a tier is exact when the window is a whole number of tier buckets (each bucket holds
 * exactly its raw samples), however few. `rate`: rate, irate, increase, delta, idelta, which see one
 * point per tier bucket and want several of them in a window.
 */
export type WindowUse = 'samples' | 'rate'

/**
 * The coarsest tier that serves a window of `windowMs` evaluated every `stepMs` (undefined: an
 * instant query) with a bounded error (README.md, "Rollups"); else raw.
 * - Range query: the step spans ≥ 4 tier buckets, and the window ≥ 4 of them or, for `samples`, a
 *   whole number of them.
 * - Instant query: the window spans ≥ 360 tier buckets.
 */
export function sourceFor(
  stepMs: number | undefined,
  windowMs: number,
  use: WindowUse,
): { table: Source; widthMs: number } {
  for (const t of TIERS) {
    const w = t.widthMs
    const fits =
      stepMs === undefined
        ? windowMs >= TIER_MIN_BUCKETS_PER_INSTANT_WINDOW * w
        : stepMs >= TIER_MIN_BUCKETS_PER_STEP * w &&
          (windowMs >= TIER_MIN_BUCKETS_PER_WINDOW * w || (use === 'samples' && windowMs % w === 0))
    if (fits) return t
  }
  return { table: 'metrics_raw', widthMs: 0 }
}

/** The window a tier of `widthMs` reads for `windowMs`: the nearest whole number of its buckets. */
export function tierWindow(windowMs: number, widthMs: number): number {
  if (widthMs <= 0) return windowMs
  return Math.max(1, Math.round(windowMs / widthMs)) * widthMs
}

export interface ReadPlan {
  source: { table: Source; widthMs: number }
  /** The window read: the query's, or from a tier the query's rounded to whole tier buckets. */
  windowMs: number
  grid: Grid
  /** The window of evaluation k is the run of buckets j with k·stepBuckets + offset < j ≤ … + span. */
  stepBuckets: number
  offset: number
  span: number
}

/**
 * How a selector is read for evaluation times first + k·step (k < steps): the source, the window
 * read (W), and the grid. With W = q·step + r (0 ≤ r < step), the window of evaluation k is the last
 * r of one period and the q whole periods after it: with r = 0, one bucket per period, q buckets a
 * window; else two buckets per period, 2q + 1 a window.
 */
export function planRead(
  firstMs: number,
  stepMs: number | undefined,
  steps: number,
  windowMs: number,
  use: WindowUse,
): ReadPlan {
  const range = stepMs !== undefined && steps > 1
  const source = sourceFor(range ? stepMs : undefined, windowMs, use)
  const window = tierWindow(windowMs, source.widthMs)
  const period = range ? stepMs : window
  const q = Math.floor(window / period)
  const cut = window - q * period
  const periods = Math.ceil(window / period) + steps - 1
  const grid = { origin: firstMs + (steps - 1) * period - periods * period, period, periods, cut }
  return cut === 0
    ? { source, windowMs: window, grid, stepBuckets: 1, offset: 0, span: q }
    : { source, windowMs: window, grid, stepBuckets: 2, offset: 1, span: 2 * q + 1 }
}

function sourceSql(database: string, where: string, source: { table: Source; widthMs: number }): string {
  if (source.table === 'metrics_raw') {
    return `SELECT metric, host, labels, toUnixTimestamp64Micro(ts) AS t, value AS v,
        1 AS c, value AS s, value AS lo, value AS hi
      FROM ${database}.metrics_raw
      WHERE ${where} AND ts > fromUnixTimestamp64Micro({from:Int64}) AND ts <= fromUnixTimestamp64Micro({to:Int64})`
  }
  // A tier bucket [b, b + w) stands as one sample at b + w, in the grid bucket that holds b + w (the
  // first two bounds on bucket only narrow what is read; the exact ones are on b + w). FINAL merges
  // a bucket's rows from unmerged parts as the engine's merges would, reading the sort order as it
  // is: a GROUP BY over (series, bucket) builds a hash table of every tier row instead, 20 to 30
  // times slower (90 days of minutes of 48 series: 0.5 s against 10 to 14 s).
  const end = `(toInt64(toUnixTimestamp(bucket)) * 1000 + {w:Int64}) * 1000`
  return `SELECT metric, host, labels, ${end} AS t,
      finalizeAggregation(value_last) AS v, value_count AS c, value_sum AS s, value_min AS lo, value_max AS hi
    FROM ${database}.${source.table} FINAL
    WHERE ${where}
      AND bucket >= toDateTime(intDiv({from:Int64}, 1000000) - intDiv({w:Int64}, 1000))
      AND bucket <= toDateTime(intDiv({to:Int64}, 1000000))
      AND ${end} > {from:Int64} AND ${end} <= {to:Int64}`
}

/**
 * What of a bucket a function needs: the others are not computed (sent as 0), and without `prev` and
 * `resets` the window function that pairs each sample with the one before it is not run at all.
 */
export interface BucketFields {
  sum: boolean
  minMax: boolean
  first: boolean
  prev: boolean
  resets: boolean
}

export function fieldsFor(fn: string): BucketFields {
  return {
    sum: fn === 'sum_over_time' || fn === 'avg_over_time',
    minMax: fn === 'min_over_time' || fn === 'max_over_time',
    first: fn === 'rate' || fn === 'increase' || fn === 'delta',
    prev: fn === 'irate' || fn === 'idelta',
    resets: fn === 'rate' || fn === 'increase',
  }
}

function bucketSql(
  database: string,
  where: string,
  source: { table: Source; widthMs: number },
  f: BucketFields,
  sparse: boolean,
  timeoutS: number,
): string {
  // With windows shorter than the step, the buckets between windows are needed by none: left out.
  const inWindows = sparse
    ? 'WHERE b > {off:Int64} AND (b - 1 - {off:Int64}) % {sb:Int64} < {span:Int64}'
    : ''
  // A reset is a sample below the one before it. Not at the same time: two rows of one tier bucket,
  // which only a shard list changed under a host's series leaves (schemas/clickhouse/README.md).
  const lag = f.prev || f.resets
  const samples = lag
    ? `SELECT metric, host, labels, t, v, c, s, lo, hi,
          lagInFrame(v, 1, 0) OVER w AS pv, lagInFrame(t, 1, 0) OVER w AS pt
        FROM (${sourceSql(database, where, source)})
        WINDOW w AS (PARTITION BY metric, host, labels ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)`
    : `SELECT metric, host, labels, t, v, c, s, lo, hi, 0 AS pv, 0 AS pt
        FROM (${sourceSql(database, where, source)})`
  const or0 = (on: boolean, sql: string): string => (on ? sql : '0')
  return `SELECT metric, host, labels, toInt32(b) AS j, toFloat64(sum(c)) AS n, toFloat64(count()) AS points,
      ${or0(f.sum, 'sum(s)')} AS sum, ${or0(f.minMax, 'min(lo)')} AS min, ${or0(f.minMax, 'max(hi)')} AS max,
      ${or0(f.first, 'argMin(v, t)')} AS firstV, ${or0(f.first, 'toFloat64(min(t))')} AS firstT,
      argMax(v, t) AS lastV, toFloat64(max(t)) AS lastT,
      ${or0(f.prev, 'argMax(pv, t)')} AS prevV, ${or0(f.prev, 'toFloat64(argMax(pt, t))')} AS prevT,
      ${or0(f.resets, 'sum(r)')} AS resets, ${or0(f.resets, 'argMin(r, t)')} AS firstReset
    FROM (
      SELECT metric, host, labels, t, v, c, s, lo, hi, pv, pt,
        intDiv(t - {from:Int64} + {period:Int64} - 1, {period:Int64}) AS p,
        {sb:Int64} * (p - 1) + if(t > {from:Int64} + p * {period:Int64} - {cut:Int64}, {sb:Int64}, 1) AS b,
        if(pt > 0 AND pt < t AND v < pv, pv, 0) AS r
      FROM (${samples})
      ${inWindows}
    )
    GROUP BY metric, host, labels, j
    ORDER BY metric, host, labels, j
    LIMIT {limit:UInt64}
    SETTINGS max_execution_time = ${String(timeoutS)}, do_not_merge_across_partitions_select_final = 1`
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
  plan: ReadPlan
  /** What the function needs of each bucket (fieldsFor). */
  fields: BucketFields
  /** Bucket rows ClickHouse may still return for the query; past it the query fails. */
  maxBuckets: number
  /** The query's whole allowance (QUERY_MAX_BUCKETS), for the error message. */
  bucketLimit: number
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
  const { source, grid, stepBuckets, offset, span } = o.plan
  if (!o.where.possible || grid.periods <= 0) return { series: [], source: source.table, buckets: 0 }
  const sparse = stepBuckets > span
  let rows: Row[]
  try {
    const rs = await o.client.query({
      query: bucketSql(
        o.database,
        o.where.sql,
        source,
        o.fields,
        sparse,
        Math.max(1, Math.ceil(o.timeoutMs / 1000)),
      ),
      query_params: {
        ...o.where.params,
        from: grid.origin * 1000,
        to: (grid.origin + grid.periods * grid.period) * 1000,
        period: grid.period * 1000,
        cut: grid.cut * 1000,
        w: source.widthMs,
        sb: stepBuckets,
        off: offset,
        span,
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
      `query processing would load too many samples into memory (more than ${String(o.bucketLimit)} buckets: ${String(o.maxBuckets)} left for a selector that reads more buckets of ${source.table}); narrow the selector or raise the step`,
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
