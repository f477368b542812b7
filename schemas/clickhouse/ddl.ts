/**
 * The one place the ClickHouse schema is written. Every statement is idempotent (IF NOT EXISTS) and
 * grouped into numbered migrations, so start-up can apply what is missing and nothing else.
 *
 * Layout, chosen for the two hot reads (one host's chart, one metric across a fleet):
 * - `metrics_raw`: one row per value, node_exporter metric name + canonical labels; tenant first in
 *   the sort key so every tenant's data is contiguous and every query is prefixed by it.
 * - `sample_log`: one row per envelope (host, agent, sequence number): the audit trail that proves
 *   nothing was lost or duplicated, and the host list.
 * Both tables keep a non-replicated deduplication window: the processors insert with an
 * insert_deduplication_token derived from the Kafka offset range, and a replayed insert is dropped.
 */
export interface DdlOptions {
  database: string
  rawTtlDays: number
  /** How many recent insert tokens each table remembers for deduplication. */
  dedupWindow: number
}

export interface Migration {
  version: number
  description: string
  statements: string[]
}

export function migrations(o: DdlOptions): Migration[] {
  const db = o.database
  const dedup = `non_replicated_deduplication_window = ${o.dedupWindow}`
  return [
    {
      version: 1,
      description: 'raw metrics and the per-envelope sample log',
      statements: [
        `CREATE TABLE IF NOT EXISTS ${db}.metrics_raw (
  tenant LowCardinality(String),
  metric LowCardinality(String),
  host LowCardinality(String),
  labels LowCardinality(String) COMMENT 'canonical JSON object of the labels, keys sorted',
  ts DateTime64(6, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
  value Float64 CODEC(Gorilla, ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (tenant, metric, host, labels, ts)
TTL toDateTime(ts) + INTERVAL ${o.rawTtlDays} DAY
SETTINGS ${dedup}`,
        `CREATE TABLE IF NOT EXISTS ${db}.sample_log (
  tenant LowCardinality(String),
  host LowCardinality(String),
  hostname LowCardinality(String),
  agent_id LowCardinality(String),
  seq UInt64 CODEC(Delta, ZSTD(1)),
  family LowCardinality(String),
  ts DateTime64(6, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
  points UInt32,
  kafka_partition UInt32,
  kafka_offset UInt64 CODEC(Delta, ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (tenant, host, agent_id, seq)
TTL toDateTime(ts) + INTERVAL ${o.rawTtlDays} DAY
SETTINGS ${dedup}`,
      ],
    },
  ]
}

export function bootstrapStatements(database: string): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${database}`,
    `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations (
  version UInt32,
  description String,
  applied_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree ORDER BY version`,
  ]
}
