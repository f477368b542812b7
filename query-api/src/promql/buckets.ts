import type { ClickHouseClient } from '@clickhouse/client'
import { PromQLError } from './errors.ts'
import { compareLabels, seriesLabels, type Labels } from './labels.ts'
import { POINTS_TABLE, POINTS_TIERS, SERIES_TABLE, type PointsTier } from '#schemas/clickhouse/ddl.ts'
import { utcDay, type SelectorWhere } from './selector-sql.ts'

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

/**
 * The rollup tiers, coarsest first. A source is named as the API has always named it (the response
 * header x-procstream-sources): `metrics_raw` and `metrics_10s`/`1m`/`1h`, the levels of data, which
 * the series-id layout stores in `points` and `points_10s`/`1m`/`1h` (storedTable).
 */
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

/** The stored table behind a source: the series-id layout's points or tier (schemas/clickhouse/ddl.ts). */
export function storedTable(source: Source): typeof POINTS_TABLE | PointsTier {
  return source === 'metrics_raw' ? POINTS_TABLE : tierTable(source)
}

export function tierTable(tier: Exclude<Source, 'metrics_raw'>): PointsTier {
  const t = POINTS_TIERS.find((p) => p.legacy === tier)
  if (!t) throw new Error(`no stored table for ${tier}`)
  return t.table
}

/**
 * The selector's samples as narrow rows read by series id: t (µs) and v, and for a tier bucket the
 * count, sum, min and max of the raw samples it summarises (c, s, lo, hi).
 */
function sourceSql(database: string, tenant: string, source: { table: Source; widthMs: number }): string {
  const ids = `tenant = {${tenant}:String} AND series_id IN {ids:Array(UInt64)}`
  if (source.table === 'metrics_raw')
    return `SELECT series_id, toUnixTimestamp64Micro(ts) AS t, value AS v
      FROM ${database}.${POINTS_TABLE}
      WHERE ${ids} AND ts > fromUnixTimestamp64Micro({from:Int64}) AND ts <= fromUnixTimestamp64Micro({to:Int64})`
  // A tier bucket [b, b + w) stands as one sample at b + w, in the grid bucket that holds b + w (the
  // first two bounds on bucket only narrow what is read; the exact ones are on b + w). FINAL merges
  // a bucket's rows from unmerged parts as the engine's merges would, reading the sort order as it
  // is: a GROUP BY over (series, bucket) builds a hash table of every tier row instead, 20 to 30
  // times slower (90 days of minutes of 48 series: 0.5 s against 10 to 14 s).
  const end = `(toInt64(toUnixTimestamp(bucket)) * 1000 + {w:Int64}) * 1000`
  return `SELECT series_id, ${end} AS t,
      finalizeAggregation(value_last) AS v, value_count AS c, value_sum AS s, value_min AS lo, value_max AS hi
    FROM ${database}.${storedTable(source.table)} FINAL
    WHERE ${ids}
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

/**
 * The fields of a bucket that a query computes, in the order of the tuples it returns: j and what
 * every function reads first, at fixed places (fetchBuckets reads them so), then what `f` asks for.
 * The rest are not computed (0 in Bucket).
 */
function bucketFields(f: BucketFields, raw: boolean): [keyof Bucket, string][] {
  const out: [keyof Bucket, string][] = [
    ['j', 'toInt32(b)'],
    ['n', raw ? 'toFloat64(count())' : 'toFloat64(sum(c))'],
    ['points', 'toFloat64(count())'],
    ['lastV', 'argMax(v, t)'],
    ['lastT', 'toFloat64(max(t))'],
  ]
  if (f.sum) out.push(['sum', raw ? 'sum(v)' : 'sum(s)'])
  if (f.minMax) out.push(['min', raw ? 'min(v)' : 'min(lo)'], ['max', raw ? 'max(v)' : 'max(hi)'])
  if (f.first) out.push(['firstV', 'argMin(v, t)'], ['firstT', 'toFloat64(min(t))'])
  if (f.prev) out.push(['prevV', 'argMax(pv, t)'], ['prevT', 'toFloat64(argMax(pt, t))'])
  if (f.resets) out.push(['resets', 'sum(r)'], ['firstReset', 'argMin(r, t)'])
  return out
}

/**
 * One row per series: its id and its buckets as an array of tuples in grid order. Rows per series,
 * not per bucket, because what the engine prints and JavaScript parses is then numbers only: the
 * per-bucket rows with names cost more to print and parse than to compute (bench/query-api.ts).
 */
function bucketSql(
  database: string,
  tenant: string,
  source: { table: Source; widthMs: number },
  fields: [keyof Bucket, string][],
  lag: boolean,
  sparse: boolean,
  timeoutS: number,
  oneThread: boolean,
): string {
  const raw = source.table === 'metrics_raw'
  const cols = raw ? 't, v' : 't, v, c, s, lo, hi'
  // With windows shorter than the step, the buckets between windows are needed by none: left out.
  const inWindows = sparse
    ? 'WHERE b > {off:Int64} AND (b - 1 - {off:Int64}) % {sb:Int64} < {span:Int64}'
    : ''
  const grid = `intDiv(t - {from:Int64} + {period:Int64} - 1, {period:Int64}) AS p,
        {sb:Int64} * (p - 1) + if(t > {from:Int64} + p * {period:Int64} - {cut:Int64}, {sb:Int64}, 1) AS b`
  // A reset is a sample below the one before it. Not at the same time: two rows of one tier bucket,
  // which only a shard list changed under a host's series leaves (schemas/clickhouse/README.md).
  const samples = lag
    ? `SELECT series_id, ${cols}, ${grid},
          lagInFrame(v, 1, 0) OVER w AS pv, lagInFrame(t, 1, 0) OVER w AS pt,
          if(pt > 0 AND pt < t AND v < pv, pv, 0) AS r
        FROM (${sourceSql(database, tenant, source)})
        WINDOW w AS (PARTITION BY series_id ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)`
    : `SELECT series_id, ${cols}, ${grid} FROM (${sourceSql(database, tenant, source)})`
  // The LIMIT bounds the bucket rows kept, as QUERY_MAX_BUCKETS promises: one more than allowed is
  // enough to know the query asks too much.
  return `SELECT toString(series_id) AS id, arraySort(groupArray(tuple(${fields.map(([name]) => name).join(', ')}))) AS buckets
    FROM (
      SELECT series_id, ${fields.map(([name, sql]) => `${sql} AS ${name}`).join(', ')}
      FROM (${samples})
      ${inWindows}
      GROUP BY series_id, j
      LIMIT {limit:UInt64}
    )
    GROUP BY series_id
    SETTINGS max_execution_time = ${String(timeoutS)}, do_not_merge_across_partitions_select_final = 1${oneThread ? ', max_threads = 1' : ''}`
}

/**
 * A read of up to this many stored rows runs on one thread. Small reads spend more on splitting the
 * work between threads than they win (the window and FINAL steps of two threads are merged again):
 * a dashboard panel over 40 series × 15 min of 1 s points took 38 ms of CPU on one thread and 60 ms
 * on two (chdb 3.4), and the panels a dashboard sends together still use every core, one each.
 * Larger reads keep the engine's threads.
 */
export const ONE_THREAD_ROWS = 1_000_000

/** Stored rows a read covers: every series at one row per second (agents' default) or per tier bucket. */
function estimatedRows(series: number, grid: Grid, widthMs: number): number {
  return (series * (grid.periods * grid.period + widthMs)) / Math.max(widthMs, 1000)
}

/**
 * The series a selector matches, from the series table: read once per selector, so the points are
 * read by id and the names never travel with them.
 */
function seriesSql(database: string, seriesWhere: string): string {
  return `SELECT toString(series_id) AS id, metric, host, labels FROM ${database}.${SERIES_TABLE}
    WHERE ${seriesWhere}
    LIMIT 1 BY series_id
    LIMIT {limit:UInt64}`
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

/**
 * Reads a selector in two statements: its series (ids and names) from the series table, then the
 * buckets of those ids. Measured against one statement that picks the ids by subquery and joins the
 * names back in SQL (bench/query-api.ts, chdb 3.4): the series table is read once instead of twice,
 * and a literal id list plans faster than a subquery; 1,000 hosts, one host's 16 CPU series over
 * 15 min: 46 ms of CPU against 100 ms.
 */
export async function fetchBuckets(o: FetchOptions): Promise<Fetched> {
  const { source, grid, stepBuckets, offset, span } = o.plan
  const empty = { series: [], source: source.table, buckets: 0 }
  if (!o.where.possible || grid.periods <= 0) return empty
  const fail = (err: unknown): PromQLError =>
    o.signal?.aborted
      ? new PromQLError('timeout', 'query timed out', { cause: err })
      : new PromQLError('unavailable', `storage query failed: ${String(err)}`, { cause: err })
  const tooMany = (what: string): PromQLError =>
    new PromQLError(
      'execution',
      `query processing would load too many samples into memory (more than ${String(o.bucketLimit)} buckets: ${String(o.maxBuckets)} left for a selector that reads more ${what} of ${source.table}); narrow the selector or raise the step`,
    )
  const timeoutS = Math.max(1, Math.ceil(o.timeoutMs / 1000))
  // The day clause keeps series without values in the range out; a tier read starts up to one tier
  // bucket early.
  const seriesWhere = `${o.where.sql} AND day >= {dayFrom:Date} AND day <= {dayTo:Date}`
  let found: { id: string; metric: string; host: string; labels: string }[]
  try {
    const rs = await o.client.query({
      query: seriesSql(o.database, seriesWhere),
      query_params: {
        ...o.where.params,
        dayFrom: utcDay(grid.origin - source.widthMs),
        dayTo: utcDay(grid.origin + grid.periods * grid.period),
        limit: o.maxBuckets + 1,
      },
      format: 'JSONEachRow',
      abort_signal: o.signal,
    })
    found = await rs.json()
  } catch (err) {
    throw fail(err)
  }
  if (found.length === 0) return empty
  // Every matching series may have a bucket: more series than buckets allowed is too many either way.
  if (found.length > o.maxBuckets) throw tooMany('series')
  const fields = bucketFields(o.fields, source.table === 'metrics_raw')
  let rows: [string, number[][]][]
  try {
    const rs = await o.client.query({
      query: bucketSql(
        o.database,
        o.where.tenantParam,
        source,
        fields,
        o.fields.prev || o.fields.resets,
        stepBuckets > span,
        timeoutS,
        estimatedRows(found.length, grid, source.widthMs) <= ONE_THREAD_ROWS,
      ),
      query_params: {
        [o.where.tenantParam]: o.where.params[o.where.tenantParam],
        ids: found.map((s) => BigInt(s.id)),
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
      format: 'JSONCompactEachRow',
      abort_signal: o.signal,
    })
    rows = await rs.json()
  } catch (err) {
    throw fail(err)
  }
  const names = new Map(found.map((s) => [s.id, s]))
  // Where each field sits in a tuple (-1: not computed, 0); one object shape for every bucket.
  const at = (name: keyof Bucket): number => fields.findIndex(([n]) => n === name)
  const [iSum, iMin, iMax, iFirstV, iFirstT, iPrevV, iPrevT, iResets, iFirstReset] = (
    ['sum', 'min', 'max', 'firstV', 'firstT', 'prevV', 'prevT', 'resets', 'firstReset'] as const
  ).map(at)
  const field = (t: number[], i: number | undefined): number => (i === undefined || i < 0 ? 0 : (t[i] ?? 0))
  const toBucket = (t: number[]): Bucket => ({
    j: t[0] ?? 0,
    n: t[1] ?? 0,
    points: t[2] ?? 0,
    lastV: t[3] ?? 0,
    lastT: t[4] ?? 0,
    sum: field(t, iSum),
    min: field(t, iMin),
    max: field(t, iMax),
    firstV: field(t, iFirstV),
    firstT: field(t, iFirstT),
    prevV: field(t, iPrevV),
    prevT: field(t, iPrevT),
    resets: field(t, iResets),
    firstReset: field(t, iFirstReset),
  })
  const series: BucketSeries[] = []
  let buckets = 0
  for (const [id, tuples] of rows) {
    buckets += tuples.length
    const s = names.get(id)
    // Every id read was one of the series found; a row of another id cannot be there.
    if (!s) throw new PromQLError('execution', `storage returned rows of a series it was not asked for`)
    series.push({
      labels: seriesLabels(s.metric, s.host, o.hostnames.get(s.host) ?? '', s.labels),
      buckets: tuples.map(toBucket),
    })
  }
  if (buckets > o.maxBuckets) throw tooMany('buckets')
  // In label order, as Prometheus hands series to its functions: ties of topk and bottomk go to the
  // first, so the order must not follow the ids' hashes.
  series.sort((a, b) => compareLabels(a.labels, b.labels))
  return { series, source: source.table, buckets }
}
