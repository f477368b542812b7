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
 * Every table keeps a deduplication window: the processors insert with an insert_deduplication_token
 * derived from the Kafka offset range, and a replayed insert is dropped, by metrics_raw and, through
 * the views, by each rollup table on its own.
 *
 * Two profiles, one generator, so both carry the same columns, codecs, keys and TTLs:
 * - `single`, the default: one server or embedded chdb, MergeTree tables with
 *   `non_replicated_deduplication_window`. Its statements have run on users' data and never change.
 * - `cluster`: a sharded, replicated cluster. Every statement runs ON CLUSTER; rows live in
 *   `<name>_local` Replicated*MergeTree tables on each shard, and `<name>` is a Distributed table over
 *   them, so readers and the processors use the same table names in both profiles.
 */
export interface DdlOptions {
  database: string
  rawTtlDays: number
  tier10sTtlDays: number
  tier1mTtlDays: number
  tier1hTtlDays: number
  /** How many recent insert tokens each table remembers for deduplication. */
  dedupWindow: number
  /** `single` when absent. */
  profile?: SchemaProfile
  /** The cluster as named in the servers' `<remote_servers>`: required by, and only read by, `cluster`. */
  cluster?: string
}

export type SchemaProfile = 'single' | 'cluster'

/**
 * Which shard a row lives on, for every Distributed table: all of one host's rows on one shard. The
 * sort keys of every table start with tenant and include host, so each sort key's rows (a series, a
 * rollup bucket, an agent's sequence) sit on one shard: FINAL and GROUP BY per shard are exact, and a
 * host's chart or sequence check reads one shard, while a fleet query spreads over all of them.
 */
export const SHARDING_KEY = 'cityHash64(tenant, host)'

/**
 * How long Keeper keeps a replicated table's insert tokens. The server default (3,600 s on 26.7)
 * would make the time, not the count, the binding limit whenever fewer than `dedupWindow` inserts
 * arrive in an hour; a week leaves the count in charge, as `non_replicated_deduplication_window`
 * (which has no time limit) is in the single profile. The time is measured from the newest entry,
 * not the wall clock, so a cluster receiving nothing forgets nothing.
 */
export const CLUSTER_DEDUP_WINDOW_SECONDS = 7 * 86_400

/**
 * Settings every processor insert needs in the cluster profile, on top of RAW_INSERT_SETTINGS; the
 * processors insert into the Distributed tables. The token does reach the shards: the Distributed
 * engine forwards the query's settings, insert_deduplication_token included, with the rows (read in
 * ClickHouse's DistributedSink: a remote shard gets them with the forwarded INSERT, a local shard a
 * copy of the query context, a background .bin file keeps them in its header). Not enough alone:
 * - `distributed_foreground_insert: 1` (alias `insert_distributed_sync`; default 0). In the default
 *   background mode the INSERT returns once the rows are queued on the receiving node, so the
 *   processor would commit offsets for rows no shard holds yet (and a lost node loses them); and each
 *   queued file goes out as an INSERT of its own, so two blocks of one insert for one shard both
 *   arrive as block 0 of the same token and the second can be dropped as a duplicate, while with
 *   `distributed_background_insert_batch` the files of an insert and of its pending replay, whose
 *   settings are identical, go out as one INSERT in which the replay's blocks get new numbers and
 *   are stored again. In the foreground the INSERT returns after every shard stored its rows (one
 *   replica per shard, with `internal_replication`), sent as one INSERT per shard whose blocks are
 *   numbered the same way on every attempt; a retry after a partial failure is dropped by the shards
 *   that had it and stored by the others, since the sharding key sends every row where it went before.
 * - `async_insert: 0` (26.2+ defaults to 1). The processors already batch, and a buffered insert
 *   is flushed together with others as one insert under one set of settings, through which the
 *   separate tokens have no documented way to the shards.
 * Read from the code and the docs, not measured: chdb has no cluster and no Keeper. The cluster
 * deployment has to replay one token through the Distributed tables and count each shard's rows.
 */
export const CLUSTER_INSERT_SETTINGS = { distributed_foreground_insert: 1, async_insert: 0 } as const

export interface Migration {
  version: number
  description: string
  statements: string[]
}

export function migrations(o: DdlOptions): Migration[] {
  const db = o.database
  const l = layout(o)
  return [
    {
      version: 1,
      description: 'raw metrics and the per-envelope sample log',
      statements: [
        `CREATE TABLE IF NOT EXISTS ${db}.${l.stored('metrics_raw')}${l.on} (
  tenant LowCardinality(String),
  metric LowCardinality(String),
  host LowCardinality(String),
  labels LowCardinality(String) COMMENT 'canonical JSON object of the labels, keys sorted',
  ts DateTime64(6, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
  value Float64 CODEC(Gorilla, ZSTD(1))
) ENGINE = ${l.engine('MergeTree', 'metrics_raw')}
PARTITION BY toYYYYMMDD(ts)
ORDER BY (tenant, metric, host, labels, ts)
TTL toDateTime(ts) + INTERVAL ${o.rawTtlDays} DAY
SETTINGS ${l.dedup}`,
        ...l.distributed('metrics_raw'),
        `CREATE TABLE IF NOT EXISTS ${db}.${l.stored('sample_log')}${l.on} (
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
) ENGINE = ${l.engine('MergeTree', 'sample_log')}
PARTITION BY toYYYYMMDD(ts)
ORDER BY (tenant, host, agent_id, seq)
TTL toDateTime(ts) + INTERVAL ${o.rawTtlDays} DAY
SETTINGS ${l.dedup}`,
        ...l.distributed('sample_log'),
      ],
    },
    {
      version: 2,
      description: 'rollup tiers (10 s, 1 min, 1 h) fed by materialized views, measured codecs',
      // The views roll up inserts from now on; rows already in metrics_raw are not backfilled here
      // (README.md says why and how to backfill by hand).
      statements: [
        ...ROLLUP_TIERS.flatMap((tier) => rollupStatements(o, l, tier)),
        // Only the codec changes: metadata only, no mutation (checked on 26.7). New parts get the new
        // codec; parts already on disk keep theirs until a merge rewrites them or the TTL drops them.
        // In the cluster profile the local table holds the data; the Distributed one stores nothing,
        // so its columns stay as created.
        `ALTER TABLE ${db}.${l.stored('metrics_raw')}${l.on} MODIFY COLUMN ts DateTime64(6, 'UTC') CODEC(${RAW_TS_CODEC})`,
        `ALTER TABLE ${db}.${l.stored('metrics_raw')}${l.on} MODIFY COLUMN value Float64 CODEC(${RAW_VALUE_CODEC})`,
      ],
    },
    {
      version: 3,
      description: 'tenants and API keys (hashed), read by every process to authenticate',
      // A change is a new row with a higher version; readers use FINAL, so the latest row wins.
      // Small tables every process reads whole: in the cluster profile each node holds a full copy.
      statements: [
        `CREATE TABLE IF NOT EXISTS ${db}.tenants${l.on} (
  name String,
  created_at DateTime64(3, 'UTC'),
  version UInt64
) ENGINE = ${l.everywhere('tenants')}
ORDER BY name`,
        `CREATE TABLE IF NOT EXISTS ${db}.api_keys${l.on} (
  key_id String COMMENT 'the public lookup prefix of the key',
  tenant String,
  name String,
  scopes Array(LowCardinality(String)),
  hash String COMMENT 'scrypt of the whole key; the key itself is never stored',
  created_at DateTime64(3, 'UTC'),
  expires_at Nullable(DateTime64(3, 'UTC')),
  revoked_at Nullable(DateTime64(3, 'UTC')),
  version UInt64
) ENGINE = ${l.everywhere('api_keys')}
ORDER BY key_id`,
      ],
    },
    {
      version: 4,
      description:
        'scopes sql and operator: stored read keys keep SQL, stored admin keys stay installation-wide',
      // `read` no longer runs SQL (that is `sql`) and `admin` is a tenant's own keys only (the
      // installation is `operator`), so every stored key is given what its scopes meant when it was
      // made. A new version of each row, not a mutation: readers already take the latest version
      // with FINAL, and an INSERT is immediate where ALTER UPDATE is asynchronous (and replicated
      // separately in the cluster profile, where this INSERT reaches every node through api_keys'
      // own replication, so it runs on one node and not ON CLUSTER). Idempotent: a row that already
      // has the new scope is not selected. It changes nothing once version 4 is recorded, so a process
      // that read the applied versions before another recorded it cannot give sql or operator to a
      // read or admin key made after the upgrade.
      statements: [
        `INSERT INTO ${db}.api_keys (key_id, tenant, name, scopes, hash, created_at, expires_at, revoked_at, version)
SELECT key_id, tenant, name,
  arraySort(arrayDistinct(arrayConcat(
    CAST(scopes, 'Array(String)'),
    if(has(scopes, 'read'), ['sql'], []),
    if(has(scopes, 'admin'), ['operator'], [])
  ))),
  hash, created_at, expires_at, revoked_at, version + 1
FROM ${db}.api_keys FINAL
WHERE ((has(scopes, 'read') AND NOT has(scopes, 'sql')) OR (has(scopes, 'admin') AND NOT has(scopes, 'operator')))
  AND (SELECT count() FROM ${db}.schema_migrations FINAL WHERE version = 4) = 0`,
      ],
    },
  ]
}

/** What the profiles write differently; the columns, codecs, keys and TTLs are written once, above. */
export interface Layout {
  /** ` ON CLUSTER '…'` after a statement's object name, or nothing. */
  on: string
  /** The table that stores a logical table's rows: the table itself, or `<name>_local` on each shard. */
  stored: (table: string) => string
  engine: (family: 'MergeTree' | 'AggregatingMergeTree', table: string) => string
  /** The deduplication window, the body of a table's SETTINGS. */
  dedup: string
  /** The Distributed table that carries the logical name over the stored one (cluster only). */
  distributed: (table: string) => string[]
  /** A ReplacingMergeTree(version) of which every node holds the whole table (small shared state). */
  everywhere: (table: string) => string
}

/** Characters a `<remote_servers>` element name (or a `{cluster}` macro) may use; none needs quoting. */
const CLUSTER_NAME = /^[A-Za-z0-9_.{}-]+$/

export function layout(o: DdlOptions): Layout {
  const db = o.database
  if ((o.profile ?? 'single') === 'single') {
    return {
      on: '',
      stored: (table) => table,
      engine: (family) => family,
      dedup: `non_replicated_deduplication_window = ${o.dedupWindow}`,
      distributed: () => [],
      everywhere: () => 'ReplacingMergeTree(version)',
    }
  }
  const cluster = clusterName(o)
  const on = ` ON CLUSTER '${cluster}'`
  const stored = (table: string): string => `${table}_local`
  return {
    on,
    stored,
    // {shard} and {replica} are macros every server defines; {database} is filled in by ClickHouse.
    engine: (family, table) =>
      `Replicated${family}('/clickhouse/tables/{shard}/{database}/${stored(table)}', '{replica}')`,
    // Replicated tables deduplicate every insert by default (by content without a token), but only
    // over the server's default window; the processors' replays need the same window as in single.
    dedup: `replicated_deduplication_window = ${o.dedupWindow}, replicated_deduplication_window_seconds = ${CLUSTER_DEDUP_WINDOW_SECONDS}`,
    // No {shard} in the path: every node of every shard is a replica of the same table.
    everywhere: (table) =>
      `ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/${table}', '{shard}-{replica}', version)`,
    distributed: (table) => [
      `CREATE TABLE IF NOT EXISTS ${db}.${table}${on} AS ${db}.${stored(table)}
ENGINE = Distributed('${cluster}', '${db}', '${stored(table)}', ${SHARDING_KEY})`,
    ],
  }
}

function clusterName(o: Pick<DdlOptions, 'cluster'>): string {
  const cluster = o.cluster ?? ''
  if (!CLUSTER_NAME.test(cluster))
    throw new Error(`the cluster schema profile needs a cluster name, got ${JSON.stringify(o.cluster)}`)
  return cluster
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
 *
 * `parallel_view_processing: 1` runs the three rollup views of an insert at once instead of one
 * after the other; the views are most of an insert's cost (bench/chdb-insert-ceiling.ts: 73K rows/s
 * with them, 142K without), and this took a Native insert with views from ~100K to ~120K rows/s.
 */
export const RAW_INSERT_SETTINGS = {
  deduplicate_blocks_in_dependent_materialized_views: 1,
  parallel_view_processing: 1,
} as const

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
 *
 * In the cluster profile each view reads `metrics_raw_local` and writes `<tier>_local`, on every
 * node. A materialized view is an insert trigger on the table in its FROM, run by the server that
 * executes that insert: the rows a shard stores are exactly those inserted into its local raw table,
 * so aggregating them there gives each shard the tier rows of its own series, with no network hop,
 * and replicas receive both parts by replication (a fetched part does not run views again). A view
 * over the Distributed `metrics_raw` would run on whichever node received the INSERT instead:
 * rows reaching a shard any other way (an insert into its local table, a backfill) would not be
 * rolled up at all, beside the local views it would count every row twice, and the dedup decision
 * would be split between the receiving node's view and the shard that drops a replayed block.
 */
function rollupStatements(o: DdlOptions, l: Layout, tier: RollupTier): string[] {
  const db = o.database
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.${l.stored(tier.table)}${l.on} (
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
) ENGINE = ${l.engine('AggregatingMergeTree', tier.table)}
PARTITION BY ${tier.partitionBy}
ORDER BY (tenant, metric, host, labels, bucket)
TTL bucket + INTERVAL ${tier.ttlDays(o)} DAY
SETTINGS ${l.dedup}`,
    ...l.distributed(tier.table),
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${tier.table}_mv${l.on} TO ${db}.${l.stored(tier.table)} AS
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
FROM ${db}.${l.stored('metrics_raw')}
GROUP BY tenant, metric, host, labels, bucket`,
  ]
}

/**
 * The database and the migrations' bookkeeping. In the cluster profile every node of every shard is a
 * replica of one `schema_migrations` (no {shard} in its path), so a processor connected to any node
 * sees what a processor connected to another applied; the replica name carries the shard because
 * `{replica}` need only be unique within a shard.
 */
export function bootstrapStatements(
  database: string,
  profile: Pick<DdlOptions, 'profile' | 'cluster'> = {},
): string[] {
  const cluster = (profile.profile ?? 'single') === 'cluster' ? clusterName(profile) : undefined
  const on = cluster === undefined ? '' : ` ON CLUSTER '${cluster}'`
  const engine =
    cluster === undefined
      ? 'ReplacingMergeTree'
      : `ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/schema_migrations', '{shard}-{replica}')`
  return [
    `CREATE DATABASE IF NOT EXISTS ${database}${on}`,
    `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations${on} (
  version UInt32,
  description String,
  applied_at DateTime DEFAULT now()
) ENGINE = ${engine} ORDER BY version`,
  ]
}
