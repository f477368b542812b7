/**
 * The one place the ClickHouse schema is written. Every statement is idempotent (IF NOT EXISTS) and
 * grouped into numbered migrations, so start-up can apply what is missing and nothing else. Applied
 * migrations are never edited: they already ran on users' data. schemas/clickhouse/README.md has the
 * tables, the measured codecs and the deduplication rules.
 *
 * Layout (migration 5, the series-id layout; README.md "Series-id layout" says why):
 * - `series`: a series' names (tenant, node_exporter metric name, host, canonical labels) and its id,
 *   once per UTC day with values; `points`: one row per value, (tenant, series_id, ts, value), sorted
 *   by (series_id, ts). Readers pick ids from `series` and read points by id and tenant (wide.ts).
 * - `points_10s`, `points_1m`, `points_1h`: rollups (min, max, sum, count, last per series and
 *   bucket), each filled by its own materialized view on `points_tier_feed`, a Null table the
 *   processors' tier feeder writes in ~10 s batches, each with its own retention.
 * - `sample_log`: one row per envelope (host, agent, sequence number): the audit trail that proves
 *   nothing was lost or duplicated, and the host list.
 * Migrations 1 and 2 created the layout before it (`metrics_raw`, one wide row per value sorted by the
 * four names, and `metrics_10s`/`_1m`/`_1h` fed by views on it); migration 6 copies them into this
 * one and drops them. Every table that keeps rows has a deduplication window: the processors insert
 * with an insert_deduplication_token derived from the Kafka offset range, and a replayed insert is
 * dropped by each table, and through the views by each rollup table, on its own.
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
  /** Run first, in order; each is idempotent. */
  statements: string[]
  /** Data copied after `statements` (migration 6), which a list of statements cannot do safely. */
  copies?: PartitionCopies
}

/**
 * Rows copied into tables one whole partition at a time: each target partition is gathered in a
 * staging table of the target's own structure, then swapped in with REPLACE PARTITION, which is
 * atomic and sets the partition to exactly the staged rows whatever it held. So a copy that dies
 * anywhere, or runs in two processes at once, leaves each partition holding one copy of its rows:
 * the one partially filled staging table never reaches the target, and a partition swapped in twice
 * is the same rows twice over. Not INSERT … SELECT with an insert_deduplication_token: on 26.7 a
 * retried INSERT … SELECT is dropped only if its SELECT reads the source in the same blocks, and a
 * merge of the source between the attempts (or another max_threads) stores the retry again in full
 * (measured, with and without ORDER BY). migrate.ts runs it and records each partition in
 * MIGRATION_STEPS_TABLE, so a restart resumes where the last run stopped.
 */
export interface PartitionCopies {
  tables: PartitionCopy[]
  /** Drops one staging table (and its local tables in the cluster profile). */
  dropStage: (stage: string) => string[]
  /** Run once every partition of every table is recorded: what the copy made obsolete. */
  afterwards: string[]
}

export interface PartitionCopy {
  /** The table filled; its partitions are recorded as `<target>/<partition id>`. */
  target: string
  /** Tables the copy reads. They are dropped only after every copy finished, so one gone means done. */
  sources: string[]
  /** One row `{ partition_id }` (a number) per partition of the target that the sources have rows for. */
  partitions: string
  /** The staging table: the target's own statements under another name, without a deduplication window. */
  createStage: (stage: string) => string[]
  /** INSERT … SELECT of one target partition's rows into the staging table: parameter {partition_id:UInt32}. */
  fill: (stage: string) => string
  /** Swaps the staged partition into the target. */
  replace: (stage: string, partitionId: string) => string
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
    {
      version: 5,
      description:
        'series-id layout: a series table, narrow points, tiers keyed by series id and fed by a Null table',
      // The tables of migrations 1 and 2 stay as they are (their rows are copied by migration 6); the
      // processors write only these from now on. See "Series-id layout" in README.md.
      statements: seriesLayoutStatements(o, l),
    },
    {
      version: 6,
      description:
        'copy metrics_raw and the rollup tiers into the series-id layout, then drop them and their views',
      statements: [
        migrationStepsTable(o),
        // The fence, first: from here on an insert into metrics_raw (a processor of the previous
        // release still running) fails and is not committed, so it is replayed later into the new
        // layout instead of landing behind the copy. In the cluster profile the processors insert
        // through the Distributed table, which is what is renamed.
        `RENAME TABLE IF EXISTS ${db}.metrics_raw TO ${db}.${LEGACY_RAW_TABLE}${l.on}`,
        ...ROLLUP_TIERS.map((t) => `DROP VIEW IF EXISTS ${db}.${t.table}_mv${l.on} SYNC`),
      ],
      copies: {
        tables: legacyCopies(o, l),
        dropStage: (stage) => [
          `DROP TABLE IF EXISTS ${db}.${stage}${l.on} SYNC`,
          ...(l.on === '' ? [] : [`DROP TABLE IF EXISTS ${db}.${l.stored(stage)}${l.on} SYNC`]),
        ],
        afterwards: [LEGACY_RAW_TABLE, ...ROLLUP_TIERS.map((t) => t.table)].flatMap((table) => [
          `DROP TABLE IF EXISTS ${db}.${table}${l.on} SYNC`,
          ...(l.on === ''
            ? []
            : [
                `DROP TABLE IF EXISTS ${db}.${l.stored(table === LEGACY_RAW_TABLE ? 'metrics_raw' : table)}${l.on} SYNC`,
              ]),
        ]),
      },
    },
  ]
}

/**
 * What migration 6 calls metrics_raw once fenced off (the table itself in the single profile, the
 * Distributed table over `metrics_raw_local` in the cluster profile). Dropped at the end.
 */
export const LEGACY_RAW_TABLE = 'legacy_metrics_raw'

/** Which partitions of a copying migration are in place (migrate.ts): `<target>/<partition id>`. */
export const MIGRATION_STEPS_TABLE = 'schema_migration_steps'

/** Staging tables of a copying migration are named `migration_<version>_stage_<target>_<partition>_<run>`. */
export function stagePrefix(version: number): string {
  return `migration_${version}_stage_`
}

/**
 * The bookkeeping of copying migrations, beside schema_migrations and replicated like it: a row per
 * target partition in place, with the rows swapped in (what "Migrating an existing installation" in
 * README.md compares against the tables).
 */
function migrationStepsTable(o: DdlOptions): string {
  const cluster = (o.profile ?? 'single') === 'cluster' ? clusterName(o) : undefined
  const on = cluster === undefined ? '' : ` ON CLUSTER '${cluster}'`
  const engine =
    cluster === undefined
      ? 'ReplacingMergeTree'
      : `ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/${MIGRATION_STEPS_TABLE}', '{shard}-{replica}')`
  return `CREATE TABLE IF NOT EXISTS ${o.database}.${MIGRATION_STEPS_TABLE}${on} (
  version UInt32,
  step String,
  rows UInt64,
  done_at DateTime DEFAULT now()
) ENGINE = ${engine} ORDER BY (version, step)`
}

/**
 * Migration 6's copies. Every old table's partitions map onto the new table's one to one (points by
 * day like metrics_raw, each tier partitioned as its old tier), so a target partition is filled from
 * one source partition, found by the source's own partition key: the partition list comes from part
 * metadata (the implicit minmax_count projection), and a fill reads one partition. `series` is
 * partitioned by month and gathers the series of every old table: one row per series and UTC day
 * with values in raw or in any tier, so a series kept only by a tier is found on its days too.
 * Ids come from SERIES_ID_SQL, the number the processors compute for the same names; aggregate states
 * are copied as they are (the tiers' columns are the same types).
 */
function legacyCopies(o: DdlOptions, l: Layout): PartitionCopy[] {
  const db = o.database
  const id = SERIES_ID_SQL('tenant', 'metric', 'host', 'labels')
  const raw = `${db}.${LEGACY_RAW_TABLE}`
  // In the cluster profile the stage is a Distributed table sharded by series id, like the target;
  // the insert waits for every shard (as the processors' inserts do). Settings in the statement,
  // never per call: in embedded chdb a call's settings stay on its session.
  const insertSettings = l.on === '' ? '' : ' SETTINGS distributed_foreground_insert = 1, async_insert = 0'
  // Swapped in on the stored tables: `_local` on each shard, but `series` (and its staging table),
  // which every node holds whole.
  const replace =
    (target: string) =>
    (stage: string, partitionId: string): string => {
      const stored = (table: string): string => (target === SERIES_TABLE ? table : l.stored(table))
      return `ALTER TABLE ${db}.${stored(target)}${l.on} REPLACE PARTITION ID '${partitionId}' FROM ${db}.${stored(stage)}`
    }
  const points: PartitionCopy = {
    target: POINTS_TABLE,
    sources: [LEGACY_RAW_TABLE],
    partitions: `SELECT toYYYYMMDD(ts) AS partition_id, count() AS rows FROM ${raw} GROUP BY partition_id ORDER BY partition_id`,
    createStage: (stage) => pointsTableStatements(o, l, stage, l.noDedup),
    fill: (stage) => `INSERT INTO ${db}.${stage} (tenant, series_id, ts, value)${insertSettings}
SELECT tenant, ${id}, ts, value
FROM ${raw}
WHERE toYYYYMMDD(ts) = {partition_id:UInt32}`,
    replace: replace(POINTS_TABLE),
  }
  const tiers = POINTS_TIERS.map(({ table, legacy, tier }): PartitionCopy => ({
    target: table,
    sources: [legacy],
    partitions: `SELECT ${tier.partitionBy} AS partition_id, count() AS rows FROM ${db}.${legacy} GROUP BY partition_id ORDER BY partition_id`,
    createStage: (stage) => tierTableStatements(o, l, stage, tier, l.noDedup),
    fill: (stage) => `INSERT INTO ${db}.${stage} (${TIER_COPY_COLUMNS})${insertSettings}
SELECT tenant, ${id}, bucket, value_min, value_max, value_sum, value_count, value_last
FROM ${db}.${legacy}
WHERE ${tier.partitionBy} = {partition_id:UInt32}`,
    replace: replace(table),
  }))
  const tierTables = ROLLUP_TIERS.map((t) => `${db}.${t.table}`)
  const seriesDays = [
    `SELECT tenant, metric, host, labels, toDate(ts) AS day FROM ${raw}
    WHERE toYYYYMM(ts) = {partition_id:UInt32} GROUP BY tenant, metric, host, labels, day`,
    ...tierTables.map(
      (t) => `SELECT tenant, metric, host, labels, toDate(bucket) AS day FROM ${t}
    WHERE toYYYYMM(bucket) = {partition_id:UInt32} GROUP BY tenant, metric, host, labels, day`,
    ),
  ]
  const series: PartitionCopy = {
    target: SERIES_TABLE,
    sources: [LEGACY_RAW_TABLE, ...ROLLUP_TIERS.map((t) => t.table)],
    // Months from the day partitions of raw and the 10 s tier and the month partitions of the minute
    // tier (metadata), and from the hour tier's rows, whose partitions are years (a small table).
    partitions: `SELECT DISTINCT partition_id FROM (
  SELECT intDiv(day, 100) AS partition_id FROM (SELECT toYYYYMMDD(ts) AS day, count() FROM ${raw} GROUP BY day)
  UNION ALL SELECT intDiv(day, 100) FROM (SELECT toYYYYMMDD(bucket) AS day, count() FROM ${db}.metrics_10s GROUP BY day)
  UNION ALL SELECT month FROM (SELECT toYYYYMM(bucket) AS month, count() FROM ${db}.metrics_1m GROUP BY month)
  UNION ALL SELECT DISTINCT toYYYYMM(bucket) FROM ${db}.metrics_1h
) ORDER BY partition_id`,
    createStage: (stage) => seriesTableStatements(o, l, stage, l.on === '' ? '' : l.noDedup),
    fill: (stage) => `INSERT INTO ${db}.${stage} (tenant, metric, host, labels, series_id, day)
SELECT tenant, metric, host, labels, ${id}, day
FROM (
  ${seriesDays.join('\n  UNION ALL\n  ')}
)
GROUP BY tenant, metric, host, labels, day`,
    replace: replace(SERIES_TABLE),
  }
  return [points, ...tiers, series]
}

const TIER_COPY_COLUMNS =
  'tenant, series_id, bucket, value_min, value_max, value_sum, value_count, value_last'

/**
 * The id of a series: the first 8 bytes, little-endian, of the MD5 of tenant, metric, host and
 * canonical labels joined by NUL. The processors compute it in JS (schemas/src/series-id.ts) and this
 * SQL computes the same number, so migration 6 can give stored rows the ids new rows will carry.
 * Every table keyed by it also carries the tenant, so a collision between two tenants' series
 * (2^-64 per pair) could never show one tenant another's rows: every read filters on both.
 */
export const SERIES_ID_SQL = (tenant: string, metric: string, host: string, labels: string): string =>
  `reinterpretAsUInt64(substring(MD5(concat(${tenant}, '\\0', ${metric}, '\\0', ${host}, '\\0', ${labels})), 1, 8))`

/** The stored tables of the series-id layout (migration 5): what the processors write. */
export const SERIES_TABLE = 'series'
export const POINTS_TABLE = 'points'
/** The Null-engine table the tier views hang on; it stores nothing. */
export const TIER_FEED_TABLE = 'points_tier_feed'

export type PointsTier = 'points_10s' | 'points_1m' | 'points_1h'

/**
 * Migration 5. Why this shape (numbers in README.md "Series-id layout"):
 * - `series`: tenant, metric, host and labels written once per series and UTC day it has values, not
 *   once per value. ReplacingMergeTree: the processors write a series row again whenever their cache
 *   forgets it, and merges fold the repeats; readers GROUP BY series_id (or DISTINCT). Small beside
 *   the points, and in the cluster profile every node holds all of it, so a shard's
 *   `series_id IN (SELECT … FROM series …)` is answered locally.
 * - `points`: (tenant, series_id, ts, value), sorted by (series_id, ts): a merge compares one UInt64
 *   and one Int64 per row instead of four strings. `tenant` is not in the key (it is constant within
 *   a series, so it costs ~0 B on disk) and is there so every read and every row policy can filter on
 *   it as well as on the ids.
 * - tiers: the same aggregate columns as migration 2's, keyed (series_id, bucket, tenant): the tenant
 *   last, where it is compared only between rows of one series and bucket (it never differs there
 *   unless two tenants' ids collide, and then their rows stay apart). Fed by three views
 *   on a Null table that the processors' tier feeder writes in ~10 s batches (its own Kafka consumer
 *   group, offset intent and deduplication token), so each view writes about one row per series and
 *   bucket instead of one per insert. Late and replayed rows land in their bucket as before: the
 *   aggregate columns merge in any order.
 */
function seriesLayoutStatements(o: DdlOptions, l: Layout): string[] {
  const db = o.database
  return [
    ...seriesTableStatements(o, l, SERIES_TABLE, ''),
    ...pointsTableStatements(o, l, POINTS_TABLE, l.dedup),
    `CREATE TABLE IF NOT EXISTS ${db}.${l.stored(TIER_FEED_TABLE)}${l.on} (
  tenant LowCardinality(String),
  series_id UInt64,
  ts DateTime64(6, 'UTC'),
  value Float64
) ENGINE = Null`,
    ...l.distributed(TIER_FEED_TABLE, SERIES_SHARDING_KEY),
    ...POINTS_TIERS.flatMap(({ table, tier }) => [
      ...tierTableStatements(o, l, table, tier, l.dedup),
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.${table}_mv${l.on} TO ${db}.${l.stored(table)} AS
SELECT
  tenant,
  series_id,
  ${tier.bucketOf} AS bucket,
  min(value) AS value_min,
  max(value) AS value_max,
  sum(value) AS value_sum,
  count() AS value_count,
  argMaxState(value, ${LAST_KEY}) AS value_last
FROM ${db}.${l.stored(TIER_FEED_TABLE)}
GROUP BY tenant, series_id, bucket`,
    ]),
    // Which topic an envelope came from, so the tier feeder can match a stored envelope to its
    // message exactly (offsets of different topics coincide).
    `ALTER TABLE ${db}.${l.stored('sample_log')}${l.on} ADD COLUMN IF NOT EXISTS kafka_topic LowCardinality(String) DEFAULT ''`,
    ...(l.on === ''
      ? []
      : [
          `ALTER TABLE ${db}.sample_log${l.on} ADD COLUMN IF NOT EXISTS kafka_topic LowCardinality(String) DEFAULT ''`,
        ]),
  ]
}

/**
 * The tables of the series-id layout, written once for migration 5 and for migration 6's staging
 * tables, which REPLACE PARTITION requires to have the target's structure: `name` is the logical
 * table, `settings` the body of its SETTINGS (none when empty).
 */
function seriesTableStatements(o: DdlOptions, l: Layout, name: string, settings: string): string[] {
  const longest = Math.max(o.rawTtlDays, o.tier10sTtlDays, o.tier1mTtlDays, o.tier1hTtlDays)
  return [
    `CREATE TABLE IF NOT EXISTS ${o.database}.${name}${l.on} (
  tenant LowCardinality(String),
  metric LowCardinality(String),
  host LowCardinality(String),
  labels String COMMENT 'canonical JSON object of the labels, keys sorted' CODEC(ZSTD(3)),
  series_id UInt64 COMMENT 'MD5 of tenant, metric, host, labels: schemas/src/series-id.ts',
  day Date COMMENT 'a UTC day on which the series has values'
) ENGINE = ${l.everywhereKeyed(name)}
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, metric, host, series_id, day)
TTL day + INTERVAL ${longest + 1} DAY${settings === '' ? '' : `\nSETTINGS ${settings}`}`,
  ]
}

function pointsTableStatements(o: DdlOptions, l: Layout, name: string, settings: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${o.database}.${l.stored(name)}${l.on} (
  tenant LowCardinality(String) CODEC(${SERIES_KEY_CODEC}),
  series_id UInt64 CODEC(${SERIES_KEY_CODEC}),
  ts DateTime64(6, 'UTC') CODEC(${RAW_TS_CODEC}),
  value Float64 CODEC(${RAW_VALUE_CODEC})
) ENGINE = ${l.engine('MergeTree', name)}
PARTITION BY toYYYYMMDD(ts)
ORDER BY (series_id, ts)
TTL toDateTime(ts) + INTERVAL ${o.rawTtlDays} DAY
SETTINGS ${settings}`,
    ...l.distributed(name, SERIES_SHARDING_KEY),
  ]
}

function tierTableStatements(
  o: DdlOptions,
  l: Layout,
  name: string,
  tier: RollupTier,
  settings: string,
): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${o.database}.${l.stored(name)}${l.on} (
  tenant LowCardinality(String) CODEC(${SERIES_KEY_CODEC}),
  series_id UInt64 CODEC(${SERIES_KEY_CODEC}),
  bucket DateTime('UTC') COMMENT 'start of the ${tier.seconds} s bucket' CODEC(${ROLLUP_BUCKET_CODEC}),
  value_min SimpleAggregateFunction(min, Float64) CODEC(${ROLLUP_VALUE_CODEC}),
  value_max SimpleAggregateFunction(max, Float64) CODEC(${ROLLUP_VALUE_CODEC}),
  value_sum SimpleAggregateFunction(sum, Float64) CODEC(${ROLLUP_VALUE_CODEC}),
  value_count SimpleAggregateFunction(sum, UInt64) CODEC(${ROLLUP_COUNT_CODEC}),
  value_last AggregateFunction(argMax, Float64, UInt32)
    COMMENT 'the value at the greatest ts in the bucket: argMaxMerge() or finalizeAggregation()' CODEC(${ROLLUP_LAST_CODEC})
) ENGINE = ${l.engine('AggregatingMergeTree', name)}
PARTITION BY ${tier.partitionBy}
ORDER BY (series_id, bucket, tenant)
TTL bucket + INTERVAL ${tier.ttlDays(o)} DAY
SETTINGS ${settings}`,
    ...l.distributed(name, SERIES_SHARDING_KEY),
  ]
}

/** The sharding key of the tables keyed by series id: all of a series' rows on one shard. */
export const SERIES_SHARDING_KEY = 'series_id'

/** What the profiles write differently; the columns, codecs, keys and TTLs are written once, above. */
export interface Layout {
  /** ` ON CLUSTER '…'` after a statement's object name, or nothing. */
  on: string
  /** The table that stores a logical table's rows: the table itself, or `<name>_local` on each shard. */
  stored: (table: string) => string
  engine: (family: 'MergeTree' | 'AggregatingMergeTree', table: string) => string
  /** The deduplication window, the body of a table's SETTINGS. */
  dedup: string
  /** SETTINGS of a table that must keep every row inserted (a staging table): no deduplication. */
  noDedup: string
  /** The Distributed table that carries the logical name over the stored one (cluster only). */
  distributed: (table: string, shardingKey?: string) => string[]
  /** A ReplacingMergeTree(version) of which every node holds the whole table (small shared state). */
  everywhere: (table: string) => string
  /** A ReplacingMergeTree without a version column (repeats of one key fold into one), on every node. */
  everywhereKeyed: (table: string) => string
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
      noDedup: 'non_replicated_deduplication_window = 0',
      distributed: () => [],
      everywhere: () => 'ReplacingMergeTree(version)',
      everywhereKeyed: () => 'ReplacingMergeTree',
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
    noDedup: 'replicated_deduplication_window = 0',
    // No {shard} in the path: every node of every shard is a replica of the same table.
    everywhere: (table) =>
      `ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/${table}', '{shard}-{replica}', version)`,
    everywhereKeyed: (table) =>
      `ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/${table}', '{shard}-{replica}')`,
    distributed: (table, shardingKey = SHARDING_KEY) => [
      `CREATE TABLE IF NOT EXISTS ${db}.${table}${on} AS ${db}.${stored(table)}
ENGINE = Distributed('${cluster}', '${db}', '${stored(table)}', ${shardingKey})`,
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
/**
 * `tenant` and `series_id` of the points and tiers: both are constant over a series' long runs of
 * rows, which the default LZ4 stores at 0.037 B per value for the id and 0.005 B for the tenant, and
 * ZSTD(1) at 0.007 and 0.001 (bench/series-layout.ts, 6 h of one host); Delta, DoubleDelta and T64
 * before ZSTD do no better on an id that is a hash (0.010, 0.011, 0.058 B). With it `points` is
 * 0.851 B on disk per value instead of 0.885 B.
 */
export const SERIES_KEY_CODEC = 'ZSTD(1)'
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

const POINTS_TIER_OF: Record<RollupTable, PointsTier> = {
  metrics_10s: 'points_10s',
  metrics_1m: 'points_1m',
  metrics_1h: 'points_1h',
}

/** A rollup tier of the series-id layout beside the tier of migration 2 it replaces. */
export const POINTS_TIERS: readonly { table: PointsTier; legacy: RollupTable; tier: RollupTier }[] =
  ROLLUP_TIERS.map((tier) => ({ table: POINTS_TIER_OF[tier.table], legacy: tier.table, tier }))

/**
 * Settings every insert into metrics_raw carried (the layout of migrations 1 and 2, until migration 6
 * drops it; tests and benches that write that layout use them, the processors' own are in
 * stream-processors/src/clickhouse-sink.ts). Since ClickHouse 24.7 a block that metrics_raw drops
 * as a duplicate still flows through the materialized views, and each view's target decides on its
 * own; with this setting off (the default from 24.7 to 26.1) a replayed insert is counted again in
 * every rollup (measured: raw 1,000 rows, rollups 3,000 after three inserts with one token). It is a
 * query setting, not a table one: table SETTINGS and the view's SELECT SETTINGS do not reach the
 * insert pipeline (measured, both still counted 3,000). Passing it per insert is harmless in chdb,
 * where query settings stick to the whole session: 1 is 26.2+'s default, and it only changes
 * inserts into tables that have views.
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
 * One tier of migration 2 (dropped by migration 6; the series-id layout's tiers have the same
 * columns, fed from points_tier_feed): an AggregatingMergeTree target and the view that fills it
 * from metrics_raw. Every view reads metrics_raw itself rather than the next finer tier, so a late or
 * replayed raw row lands in every tier through the same path, and a tier can be rebuilt from raw alone.
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
