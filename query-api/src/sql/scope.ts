/**
 * The tables a tenant's SQL sees. A query names them bare (`FROM metrics`); the renderer replaces
 * every such name with its body, a subquery over the stored table filtered to the principal's tenant
 * through a bound parameter, so no stored table is ever named by the user and no row of another
 * tenant leaves the innermost read.
 *
 * Rollups are shown merged (one row per series and bucket, `last` finalised), so a hand-written
 * query never meets unmerged parts or aggregate states.
 */
export interface ScopedTable {
  name: string
  source: string
  description: string
  columns: readonly string[]
  body: (database: string) => string
}

/** The bound parameter every body filters on; user text cannot name parameters (lexer.ts). */
export const TENANT_PARAM = 'procstream_tenant'

/**
 * The stored table's alias inside a body. Every column there is qualified with it, so no name the
 * user's query defines can stand in for `tenant`; user names may not start with `__` (render.ts).
 */
export const SRC = '__ps_src'

function plain(db: string, source: string, columns: readonly string[]): string {
  return (
    `SELECT ${columns.map((c) => `${SRC}.${c} AS ${c}`).join(', ')} FROM \`${db}\`.${source} AS ${SRC} ` +
    `WHERE ${SRC}.tenant = {${TENANT_PARAM}:String}`
  )
}

const ROLLUP_COLUMNS = ['metric', 'host', 'labels', 'bucket', 'min', 'max', 'sum', 'count', 'last'] as const

const rollup = (name: string, source: string, width: string): ScopedTable => ({
  name,
  source,
  description: `${width} rollup: metric, host, labels, bucket (start, UTC), min, max, sum, count, last`,
  columns: ROLLUP_COLUMNS,
  body: (db) =>
    `SELECT ${SRC}.metric AS metric, ${SRC}.host AS host, ${SRC}.labels AS labels, ${SRC}.bucket AS bucket, ` +
    `min(${SRC}.value_min) AS min, max(${SRC}.value_max) AS max, sum(${SRC}.value_sum) AS sum, ` +
    `sum(${SRC}.value_count) AS count, argMaxMerge(${SRC}.value_last) AS last ` +
    `FROM \`${db}\`.${source} AS ${SRC} WHERE ${SRC}.tenant = {${TENANT_PARAM}:String} ` +
    `GROUP BY ${SRC}.metric, ${SRC}.host, ${SRC}.labels, ${SRC}.bucket`,
})

export const SCOPED_TABLES: readonly ScopedTable[] = [
  {
    name: 'metrics',
    source: 'metrics_raw',
    description: 'raw values: metric (node_exporter name), host, labels (JSON), ts (DateTime64(6)), value',
    columns: ['metric', 'host', 'labels', 'ts', 'value'],
    body: (db) => plain(db, 'metrics_raw', ['metric', 'host', 'labels', 'ts', 'value']),
  },
  rollup('rollup_10s', 'metrics_10s', '10 s'),
  rollup('rollup_1m', 'metrics_1m', '1 min'),
  rollup('rollup_1h', 'metrics_1h', '1 h'),
  {
    name: 'samples',
    source: 'sample_log',
    description: 'one row per agent sample: host, hostname, agent_id, seq, family, ts, points',
    columns: ['host', 'hostname', 'agent_id', 'seq', 'family', 'ts', 'points'],
    body: (db) => plain(db, 'sample_log', ['host', 'hostname', 'agent_id', 'seq', 'family', 'ts', 'points']),
  },
]

export function scopedNames(): string {
  return SCOPED_TABLES.map((t) => t.name).join(', ')
}
