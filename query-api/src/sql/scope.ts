/**
 * The tables a tenant's SQL sees. Each is a common table expression over a stored table, filtered
 * to the tenant by a query parameter, and put in front of the user's query; the stored tables
 * themselves are out of reach (validate.ts proves every table read sits inside one of these).
 *
 * Rollups are shown merged (one row per series and bucket, `last` finalised), so a hand-written
 * query never meets unmerged parts or aggregate states.
 */
export interface ScopedTable {
  name: string
  source: string
  description: string
  body: (database: string) => string
}

const rollup = (name: string, source: string, width: string): ScopedTable => ({
  name,
  source,
  description: `${width} rollup: metric, host, labels, bucket (start, UTC), min, max, sum, count, last`,
  body: (db) => `SELECT metric, host, labels, bucket, min(value_min) AS min, max(value_max) AS max,
      sum(value_sum) AS sum, sum(value_count) AS count, argMaxMerge(value_last) AS last
    FROM ${db}.${source} WHERE tenant = {__tenant:String} GROUP BY metric, host, labels, bucket`,
})

export const SCOPED_TABLES: readonly ScopedTable[] = [
  {
    name: 'metrics',
    source: 'metrics_raw',
    description: 'raw values: metric (node_exporter name), host, labels (JSON), ts (DateTime64(6)), value',
    body: (db) =>
      `SELECT metric, host, labels, ts, value FROM ${db}.metrics_raw WHERE tenant = {__tenant:String}`,
  },
  rollup('rollup_10s', 'metrics_10s', '10 s'),
  rollup('rollup_1m', 'metrics_1m', '1 min'),
  rollup('rollup_1h', 'metrics_1h', '1 h'),
  {
    name: 'samples',
    source: 'sample_log',
    description: 'one row per agent sample: host, hostname, agent_id, seq, family, ts, points',
    body: (db) =>
      `SELECT host, hostname, agent_id, seq, family, ts, points FROM ${db}.sample_log WHERE tenant = {__tenant:String}`,
  },
]

export function scopedWith(database: string): string {
  return `WITH ${SCOPED_TABLES.map((t) => `${t.name} AS (${t.body(database)})`).join(',\n')}`
}
