import { POINTS_TABLE, POINTS_TIERS, SERIES_TABLE, type PointsTier } from '#schemas/clickhouse/ddl.ts'
import type { PrefilterColumns } from './prefilter.ts'

/**
 * The tables a tenant's SQL sees. A query names them bare (`FROM metrics`); the renderer replaces
 * every such name with its body, a subquery over the stored tables filtered to the principal's tenant
 * through a bound parameter, so no stored table is ever named by the user and no row of another
 * tenant leaves the innermost read.
 *
 * The stored layout is the series-id one (schemas/clickhouse/ddl.ts, migration 5): names in `series`,
 * values in `points` and the `points_*` tiers keyed by series id. The bodies join the names back, so
 * a tenant sees the columns (and column types) it always saw. Every read of points or a tier is
 * scoped twice, by construction: by the ids of the tenant's own series and by the rows' own `tenant`
 * column, so even two tenants' series sharing an id (a 64-bit hash collision) each show their tenant
 * only its own rows. Written here rather than with schemas/clickhouse/wide.ts's wideSql because a
 * body must qualify every column with an alias user names cannot take, and takes the conditions the
 * renderer copies from the user's WHERE (prefilter.ts).
 *
 * Rollups are shown merged (one row per series and bucket, `last` finalised), so a hand-written
 * query never meets unmerged parts or aggregate states.
 */
export interface ScopedTable {
  name: string
  /** The stored tables the body reads (each granted to the SQL user: schemas/clickhouse/access.ts). */
  sources: readonly string[]
  description: string
  columns: readonly string[]
  /** Which columns a condition of the user's WHERE may be copied onto inside the body (prefilter.ts). */
  prefilter?: PrefilterColumns
  body: (database: string, filters?: BodyFilters) => string
}

/**
 * Conditions copied from the user's WHERE (prefilter.ts), rendered over bare column names: `names`
 * over metric, host and labels, `rows` over the stored rows' columns.
 */
export interface BodyFilters {
  names?: string | undefined
  rows?: string | undefined
}

/** The bound parameter every body filters on; user text cannot name parameters (lexer.ts). */
export const TENANT_PARAM = 'procstream_tenant'

/**
 * The aliases inside the bodies; SRC names the rows a body returns. Every column in a body is
 * qualified with one of them, so no name the user's query defines can stand in for `tenant` or
 * `series_id`; user names may not start with `__` (render.ts).
 */
export const SRC = '__ps_src'
const SERIES = '__ps_series'
const KEPT = '__ps_kept'
const IDS = '__ps_ids'
const NAMES = '__ps_names'
const NAMED = '__ps_named'
const READ = '__ps_read'
const ROWS = '__ps_rows'
const MERGED = '__ps_merged'

const TENANT = `{${TENANT_PARAM}:String}`
const NAME_COLUMNS = ['metric', 'host', 'labels'] as const

const pick = (alias: string, columns: readonly string[]): string =>
  columns.map((c) => `${alias}.${c} AS ${c}`).join(', ')

/**
 * The tenant's series, one row per series and day, with the copied name conditions applied above
 * the tenant filter. labels is LowCardinality(String) as it was in metrics_raw, so a tenant's types
 * do not change; converted per series row, not per value.
 */
function tenantSeries(db: string, where: string | undefined): string {
  const all =
    `SELECT ${SERIES}.series_id AS series_id, ${SERIES}.metric AS metric, ${SERIES}.host AS host, ` +
    `toLowCardinality(${SERIES}.labels) AS labels FROM \`${db}\`.${SERIES_TABLE} AS ${SERIES} ` +
    `WHERE ${SERIES}.tenant = ${TENANT}`
  if (where === undefined) return all
  return `SELECT ${pick(KEPT, ['series_id', ...NAME_COLUMNS])} FROM (${all}) AS ${KEPT} WHERE ${where}`
}

/**
 * Rows of a stored table keyed by series id: the tenant's own rows (their tenant column) of the
 * tenant's chosen series (IN over the series, which also picks the granules: series_id leads the
 * sort key), with the copied row conditions applied above.
 */
function tenantRows(
  db: string,
  table: string,
  columns: readonly string[],
  series: string,
  where: string | undefined,
): string {
  const cols = ['series_id', ...columns]
  const read =
    `SELECT ${pick(READ, cols)} FROM \`${db}\`.${table} AS ${READ} WHERE ${READ}.tenant = ${TENANT} ` +
    `AND ${READ}.series_id IN (SELECT ${IDS}.series_id FROM (${series}) AS ${IDS})`
  if (where === undefined) return read
  return `SELECT ${pick(ROWS, cols)} FROM (${read}) AS ${ROWS} WHERE ${where}`
}

/** `rows` (a subquery with a series_id and `columns`) with the names of its series joined on. */
function named(rows: string, series: string, columns: readonly string[]): string {
  return (
    `SELECT ${pick(NAMES, NAME_COLUMNS)}, ${pick(SRC, columns)} FROM (${rows}) AS ${SRC} ` +
    `INNER JOIN (SELECT DISTINCT ${pick(NAMED, ['series_id', ...NAME_COLUMNS])} FROM (${series}) AS ${NAMED}) ` +
    `AS ${NAMES} ON ${SRC}.series_id = ${NAMES}.series_id`
  )
}

const POINT_COLUMNS = ['ts', 'value'] as const

function points(db: string, f: BodyFilters = {}): string {
  const series = tenantSeries(db, f.names)
  return named(tenantRows(db, POINTS_TABLE, POINT_COLUMNS, series, f.rows), series, POINT_COLUMNS)
}

const TIER_COLUMNS = ['bucket', 'value_min', 'value_max', 'value_sum', 'value_count', 'value_last'] as const
const MERGED_COLUMNS = ['bucket', 'min', 'max', 'sum', 'count', 'last'] as const

/**
 * A tier merged per series and bucket, then named: grouped by the id (a UInt64) rather than by the
 * names, which within one tenant groups the same rows.
 */
function tier(db: string, table: PointsTier, f: BodyFilters = {}): string {
  const series = tenantSeries(db, f.names)
  const m = MERGED
  const merged =
    `SELECT ${m}.series_id AS series_id, ${m}.bucket AS bucket, min(${m}.value_min) AS min, ` +
    `max(${m}.value_max) AS max, sum(${m}.value_sum) AS sum, sum(${m}.value_count) AS count, ` +
    `argMaxMerge(${m}.value_last) AS last FROM (${tenantRows(db, table, TIER_COLUMNS, series, f.rows)}) AS ${m} ` +
    `GROUP BY ${m}.series_id, ${m}.bucket`
  return named(merged, series, MERGED_COLUMNS)
}

const WIDTH: Record<PointsTier, string> = { points_10s: '10 s', points_1m: '1 min', points_1h: '1 h' }

const rollups: ScopedTable[] = POINTS_TIERS.map(({ table }) => ({
  name: table.replace('points_', 'rollup_'),
  sources: [table, SERIES_TABLE],
  description: `${WIDTH[table]} rollup: metric, host, labels, bucket (start, UTC), min, max, sum, count, last`,
  columns: [...NAME_COLUMNS, ...MERGED_COLUMNS],
  // The merged columns exist only after the GROUP BY; the bucket is its key, so it filters before.
  prefilter: { names: NAME_COLUMNS, rows: ['bucket'] },
  body: (db, f) => tier(db, table, f),
}))

const SAMPLE_COLUMNS = ['host', 'hostname', 'agent_id', 'seq', 'family', 'ts', 'points'] as const

export const SCOPED_TABLES: readonly ScopedTable[] = [
  {
    name: 'metrics',
    sources: [POINTS_TABLE, SERIES_TABLE],
    description: 'raw values: metric (node_exporter name), host, labels (JSON), ts (DateTime64(6)), value',
    columns: [...NAME_COLUMNS, ...POINT_COLUMNS],
    prefilter: { names: NAME_COLUMNS, rows: POINT_COLUMNS },
    body: points,
  },
  ...rollups,
  {
    // One stored table and no join: the engine merges the user's conditions into this read's own
    // filter, after the tenant's, and its index serves them; nothing to copy.
    name: 'samples',
    sources: ['sample_log'],
    description: 'one row per agent sample: host, hostname, agent_id, seq, family, ts, points',
    columns: SAMPLE_COLUMNS,
    body: (db) =>
      `SELECT ${pick(SRC, SAMPLE_COLUMNS)} FROM \`${db}\`.sample_log AS ${SRC} WHERE ${SRC}.tenant = ${TENANT}`,
  },
]

export function scopedNames(): string {
  return SCOPED_TABLES.map((t) => t.name).join(', ')
}
