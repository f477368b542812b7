/**
 * The one place the ClickHouse schema is written. Every statement is idempotent (IF NOT EXISTS) and
 * grouped into numbered migrations, so start-up can apply what is missing and nothing else. Applied
 * migrations are never edited: they already ran on users' data. schemas/clickhouse/README.md has the
 * tables, the measured codecs and the deduplication rules.
 *
 * Layout, chosen for the two hot reads (one host's chart, one metric across a fleet):
 * - `metrics_raw`: one row per value, node_exporter metric name + canonical labels; tenant first in
 *   the sort key so every tenant's data is contiguous and every query is prefixed by it.
 * - `sample_log`: one row per envelope (host, agent, sequence number): the audit trail that proves
 *   nothing was lost or duplicated, and the host list.
 * - `metrics_10s`, `metrics_1m`, `metrics_1h`: rollups of metrics_raw (min, max, sum, count, last per
 *   series and bucket), each fed by its own materialized view, each with its own retention.
 * Every table keeps a non-replicated deduplication window: the processors insert with an
 * insert_deduplication_token derived from the Kafka offset range, and a replayed insert is dropped,
 * by metrics_raw and, through the views, by each rollup table on its own.
 */
export interface DdlOptions {
  database: string
  rawTtlDays: number
  tier10sTtlDays: number
  tier1mTtlDays: number
  tier1hTtlDays: number
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
    {
      version: 2,
      description: 'rollup tiers (10 s, 1 min, 1 h) fed by materialized views, measured codecs',
      // The views roll up inserts from now on; rows already in metrics_raw are not backfilled here
      // (README.md says why and how to backfill by hand).
      statements: [
        ...ROLLUP_TIERS.flatMap((tier) => rollupStatements(o, tier)),
        // Only the codec changes: metadata only, no mutation (checked on 26.7). New parts get the new
        // codec; parts already on disk keep theirs until a merge rewrites them or the TTL drops them.
        `ALTER TABLE ${db}.metrics_raw MODIFY COLUMN ts DateTime64(6, 'UTC') CODEC(${RAW_TS_CODEC})`,
        `ALTER TABLE ${db}.metrics_raw MODIFY COLUMN value Float64 CODEC(${RAW_VALUE_CODEC})`,
      ],
    },
  ]
}

/**
 * Codecs chosen by bench/storage-codecs.ts on a node_exporter-like host (6 h at 1 s, 5.46 M values;
 * all numbers in README.md), compressed bytes per row:
 * - value: Delta+ZSTD(1) 0.63 B against migration 1's Gorilla+ZSTD(1) 1.19 B. Counters dominate
 *   and their bit patterns differ little from one sample to the next, which Delta exposes to ZSTD;
 *   Gorilla's XOR does badly on decimal fractions (0.01 s CPU ticks). Gauges cost the same (~1.55 B)
 *   under every ZSTD codec, constants ~0.01 B under all.
 * - ts: Delta+ZSTD(3) 0.63 B against DoubleDelta+ZSTD(1) 0.72 B. The agent stamps Date.now(), a few
 *   ms after the tick; stamped on the tick itself ts would cost 0.01 B under either codec.
 * - rollups: Delta+ZSTD(1) for min/max/sum (3.28 B for the three against Gorilla's 5.75 B), bucket
 *   and count (~0.01 B each); ZSTD(3) for the argMax state, opaque bytes to any codec (2.25 B against
 *   ZSTD(1)'s 2.41 B).
 */
export const RAW_TS_CODEC = 'Delta, ZSTD(3)'
export const RAW_VALUE_CODEC = 'Delta, ZSTD(1)'
export const ROLLUP_BUCKET_CODEC = 'Delta, ZSTD(1)'
export const ROLLUP_VALUE_CODEC = 'Delta, ZSTD(1)'
export const ROLLUP_COUNT_CODEC = 'Delta, ZSTD(1)'
export const ROLLUP_LAST_CODEC = 'ZSTD(3)'

/** The key of a bucket's `last`: microseconds from the bucket start to ts, exact integer arithmetic. */
export const LAST_KEY = 'toUInt32(toUnixTimestamp64Micro(ts) - toInt64(toUnixTimestamp(bucket)) * 1000000)'

export type RollupTable = 'metrics_10s' | 'metrics_1m' | 'metrics_1h'

export interface RollupTier {
  table: RollupTable
  /** Bucket width; a bucket starts at a multiple of it since the epoch, in UTC. */
  seconds: number
  /** SQL that maps metrics_raw.ts to the bucket start, a DateTime('UTC'). */
  bucketOf: string
  /**
   * Partitions sized so a partition holds days to months of buckets: small enough that TTL drops
   * whole parts, large enough that a tenant's year of hourly rows is not scattered over 365 parts.
   */
  partitionBy: string
  ttlDays: (o: DdlOptions) => number
}

export const ROLLUP_TIERS: readonly RollupTier[] = [
  {
    table: 'metrics_10s',
    seconds: 10,
    bucketOf: 'toStartOfInterval(ts, INTERVAL 10 SECOND)',
    partitionBy: 'toYYYYMMDD(bucket)',
    ttlDays: (o) => o.tier10sTtlDays,
  },
  {
    table: 'metrics_1m',
    seconds: 60,
    bucketOf: 'toStartOfMinute(ts)',
    partitionBy: 'toYYYYMM(bucket)',
    ttlDays: (o) => o.tier1mTtlDays,
  },
  {
    table: 'metrics_1h',
    seconds: 3600,
    bucketOf: 'toStartOfHour(ts)',
    partitionBy: 'toYear(bucket)',
    ttlDays: (o) => o.tier1hTtlDays,
  },
]

/**
 * Settings every insert into metrics_raw should carry. Since ClickHouse 24.7 a block that
 * metrics_raw drops as a duplicate still flows through the materialized views, and each view's
 * target decides on its own; with this setting off (the default from 24.7 to 26.1) a replayed
 * insert is counted again in every rollup (measured: raw 1,000 rows, rollups 3,000 after three
 * inserts with one token). It is a query setting, not a table one: table SETTINGS and the view's
 * SELECT SETTINGS do not reach the insert pipeline (measured, both still counted 3,000). Passing it
 * per insert is harmless in chdb, where query settings stick to the whole session: 1 is 26.2+'s
 * default, and it only changes inserts into tables that have views.
 */
export const RAW_INSERT_SETTINGS = { deduplicate_blocks_in_dependent_materialized_views: 1 } as const

/**
 * One tier: an AggregatingMergeTree target and the view that fills it from metrics_raw. Every view
 * reads metrics_raw itself rather than the next finer tier, so a late or replayed raw row lands in
 * every tier through the same path, and a tier can be rebuilt from raw alone.
 *
 * min, max, sum and count are SimpleAggregateFunction columns: stored as plain values, merged with
 * min/max/sum, readable without -Merge combinators. `value_last`, the value at the greatest ts in the
 * bucket, is an argMax state: argMax is commutative and associative, so it is right whatever order
 * late or replayed rows arrive in and however parts merge. Read it with argMaxMerge(value_last) under
 * GROUP BY, or finalizeAggregation(value_last) after FINAL. Its key is the microseconds from the
 * bucket start to ts, not ts itself: within one bucket both order the rows the same way, but the
 * offset is a small number in 4 bytes (an hour is 3.6e9 µs, under 2^32) where ts is 8, and the state
 * compresses to 2.2 B per 10 s row instead of 3.6 B (bench/storage-codecs.ts).
 * Rejected: anyLast (the last row inserted, not the latest sample) and
 * SimpleAggregateFunction(max, Tuple(ts, value)), as small as the offset state but whose subcolumn
 * read (`value_last.value`) skips the merge under FINAL and returns the first part's value (measured
 * on 26.7; ClickHouse issue #61161), a silently wrong answer for anyone writing ad-hoc SQL.
 * Two different values for one series at the very same microsecond (which the agent never produces)
 * would leave whichever merged first.
 */
function rollupStatements(o: DdlOptions, tier: RollupTier): string[] {
  const db = o.database
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${tier.table} (
  tenant LowCardinality(String),
  metric LowCardinality(String),
  host LowCardinality(String),
  labels LowCardinality(String) COMMENT 'canonical JSON object of the labels, keys sorted',
  bucket DateTime('UTC') COMMENT 'start of the ${tier.seconds} s bucket' CODEC(${ROLLUP_BUCKET_CODEC}),
  value_min SimpleAggregateFunction(min, Float64) CODEC(${ROLLUP_VALUE_CODEC}),
  value_max SimpleAggregateFunction(max, Float64) CODEC(${ROLLUP_VALUE_CODEC}),
  value_sum SimpleAggregateFunction(sum, Float64) CODEC(${ROLLUP_VALUE_CODEC}),
  value_count SimpleAggregateFunction(sum, UInt64) CODEC(${ROLLUP_COUNT_CODEC}),
  value_last AggregateFunction(argMax, Float64, UInt32)
    COMMENT 'the value at the greatest ts in the bucket: argMaxMerge() or finalizeAggregation()' CODEC(${ROLLUP_LAST_CODEC})
) ENGINE = AggregatingMergeTree
PARTITION BY ${tier.partitionBy}
ORDER BY (tenant, metric, host, labels, bucket)
TTL bucket + INTERVAL ${tier.ttlDays(o)} DAY
SETTINGS non_replicated_deduplication_window = ${o.dedupWindow}`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${tier.table}_mv TO ${db}.${tier.table} AS
SELECT
  tenant,
  metric,
  host,
  labels,
  ${tier.bucketOf} AS bucket,
  min(value) AS value_min,
  max(value) AS value_max,
  sum(value) AS value_sum,
  count() AS value_count,
  argMaxState(value, ${LAST_KEY}) AS value_last
FROM ${db}.metrics_raw
GROUP BY tenant, metric, host, labels, bucket`,
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
