import { POINTS_TABLE, SERIES_TABLE, type PointsTier } from './ddl.ts'

/**
 * How a reader sees the series-id layout in the shape of migration 1's tables: one row per point (or
 * per tier bucket) carrying tenant, metric, host and labels. One rendering for every reader (the
 * Prometheus API, the dashboards, tenant SQL, the processors' lookups, the audits), so the two-step
 * read is written once: the series table picks the ids, the points are read by id, which is the
 * leading column of their sort key, and the join only adds the names back to the rows read.
 */
export interface WideRead {
  database: string
  /** `points` for raw values, or a tier table. */
  source: typeof POINTS_TABLE | PointsTier
  /**
   * Condition on the series columns (tenant, metric, host, labels, day); it must hold the tenant
   * clause. User values only as query parameters.
   */
  seriesWhere: string
  /**
   * The tenant again, as SQL (a query parameter such as `{tenant:String}`), matched against the
   * points' own tenant column: a read is scoped by the ids and by the tenant.
   */
  tenant: string
  /** Condition on the points columns (`ts`, or `bucket` for a tier); none when absent. */
  pointsWhere?: string
  /** Read a tier with FINAL (its rows merged per key); ignored for raw points. */
  final?: boolean
}

/** The columns a wide read returns, besides tenant, metric, host and labels. */
export const POINT_COLUMNS = ['ts', 'value'] as const
export const TIER_COLUMNS = [
  'bucket',
  'value_min',
  'value_max',
  'value_sum',
  'value_count',
  'value_last',
] as const

/** A subquery (without the parentheses) returning the wide rows of `r`. */
export function wideSql(r: WideRead): string {
  const db = r.database
  const cols = r.source === POINTS_TABLE ? POINT_COLUMNS : TIER_COLUMNS
  const final = r.source !== POINTS_TABLE && r.final === true ? ' FINAL' : ''
  const ids = `SELECT series_id FROM ${db}.${SERIES_TABLE} WHERE ${r.seriesWhere}`
  return `SELECT s.tenant AS tenant, s.metric AS metric, s.host AS host, s.labels AS labels, ${cols
    .map((c) => `p.${c} AS ${c}`)
    .join(', ')}
  FROM ${db}.${r.source} AS p${final}
  INNER JOIN (
    SELECT DISTINCT series_id, tenant, metric, host, labels FROM ${db}.${SERIES_TABLE} WHERE ${r.seriesWhere}
  ) AS s ON p.series_id = s.series_id
  WHERE p.tenant = ${r.tenant} AND p.series_id IN (${ids})${r.pointsWhere ? ` AND (${r.pointsWhere})` : ''}`
}

/**
 * The other shape of a read, for readers that aggregate per series: the narrow rows (series_id and
 * the point or tier columns, no names) of the series `seriesWhere` picks, scoped by the ids and by
 * the points' own tenant as wideSql is. The reader groups them by series_id and names what is left
 * with namedSql, so the names are joined once per result row instead of once per point read.
 */
export function narrowSql(r: WideRead): string {
  const db = r.database
  const cols = r.source === POINTS_TABLE ? POINT_COLUMNS : TIER_COLUMNS
  const final = r.source !== POINTS_TABLE && r.final === true ? ' FINAL' : ''
  return `SELECT series_id, ${cols.join(', ')}
  FROM ${db}.${r.source}${final}
  WHERE tenant = ${r.tenant} AND series_id IN (SELECT series_id FROM ${db}.${SERIES_TABLE} WHERE ${r.seriesWhere})${r.pointsWhere ? ` AND (${r.pointsWhere})` : ''}`
}

export interface NamedRead {
  database: string
  /** The same condition the rows were read with (narrowSql's seriesWhere): it holds the tenant clause. */
  seriesWhere: string
  /** A subquery with a `series_id` column, e.g. narrow rows grouped by series_id. */
  rows: string
  /** Its columns to keep, besides series_id. */
  columns: readonly string[]
  /** What of each series to add: columns of the series table or expressions over them, `AS` allowed. */
  names?: readonly string[]
}

/**
 * `rows` with the names of each row's series joined on. The series table holds a series once per day
 * it has values; a SEMI join keeps every row of `rows` that has a series (all of them: their ids came
 * from the same condition) and joins one of its series rows, which all carry the same names. Not
 * `ANY INNER`, which ClickHouse makes one-to-one: one row per series id in all.
 */
export function namedSql(r: NamedRead): string {
  const names = r.names ?? ['metric', 'host', 'labels']
  return `SELECT r.series_id AS series_id, ${r.columns.map((c) => `r.${c} AS ${c}`).join(', ')}, ${names
    .map((n) => `s.${aliasOf(n)} AS ${aliasOf(n)}`)
    .join(', ')}
  FROM (${r.rows}) AS r
  LEFT SEMI JOIN (
    SELECT series_id, ${names.join(', ')} FROM ${r.database}.${SERIES_TABLE} WHERE ${r.seriesWhere}
  ) AS s ON r.series_id = s.series_id`
}

/** The name a select-list item is known by: its alias, or the column itself. */
function aliasOf(item: string): string {
  const m = / AS ([A-Za-z_][A-Za-z0-9_]*)$/.exec(item)
  return m?.[1] ?? item
}
