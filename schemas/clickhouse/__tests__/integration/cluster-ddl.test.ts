/**
 * The cluster profile's statements against embedded ClickHouse. chdb has no cluster and no Keeper, so
 * nothing here runs them as a cluster would (the cluster deployment's own tests do); what it can
 * check is that every statement parses as written, and that on one node, with only the cluster-bound
 * parts taken out, the local tables, views and Distributed definitions resolve, the views fill the
 * local tiers, and migration 6's copy, done on the local tables, moves the old rows into the new ones.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse, readClickHouseConfig } from '#platform/clickhouse.ts'
import { ConfigReader } from '#platform/config.ts'
import { microsToDateTime64 } from '../../rows.ts'
import { seriesId } from '../../../src/series-id.ts'
import {
  bootstrapStatements,
  LEGACY_RAW_TABLE,
  migrations,
  POINTS_TIERS,
  ROLLUP_TIERS,
  SERIES_ID_SQL,
  stagePrefix,
  type DdlOptions,
  type PartitionCopy,
} from '../../ddl.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'procstream-cluster-ddl-'))
let clickhouse: ClickHouseClient

beforeAll(async () => {
  clickhouse = await createClickHouse(readClickHouseConfig(new ConfigReader({}), dataDir))
})

afterAll(async () => {
  await clickhouse.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const o: DdlOptions = {
  database: `cluster_ddl_${process.pid}`,
  rawTtlDays: 7,
  tier10sTtlDays: 30,
  tier1mTtlDays: 365,
  tier1hTtlDays: 1825,
  dedupWindow: 100,
  profile: 'cluster',
  cluster: 'procstream',
}
const db = o.database
const ON = ` ON CLUSTER 'procstream'`
const six = migrations(o).find((m) => m.version === 6)
const upToFive = [
  ...bootstrapStatements(db, o),
  ...migrations(o).flatMap((m) => (m.version <= 5 ? m.statements : [])),
]
const copies = six?.copies
/** Migration 6 as migrate.ts runs it for one partition of each table, with a run's staging names. */
const copyStatements = (copies?.tables ?? []).flatMap((c) => {
  const stage = `${stagePrefix(6)}${c.target}_1_run`
  return [
    c.partitions,
    ...c.createStage(stage),
    c.fill(stage),
    c.replace(stage, '1'),
    ...(copies?.dropStage(stage) ?? []),
  ]
})
const all = [...upToFive, ...(six?.statements ?? []), ...copyStatements, ...(copies?.afterwards ?? [])]

async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })
  return rs.json<T>()
}

/** ClickHouse's own parser, without executing anything: throws on a syntax error. */
async function format(statement: string): Promise<string> {
  const [r] = await rows<{ f: string }>('SELECT formatQuery({q:String}) AS f', { q: statement })
  return r?.f ?? ''
}

async function failure(statement: string): Promise<string> {
  try {
    await clickhouse.command({ query: statement })
  } catch (err) {
    return String(err)
  }
  return 'no error'
}

/** The statement on one node: no ON CLUSTER, the plain engine in place of its replicated form. */
function onOneNode(statement: string): string {
  return statement
    .replace(ON, '')
    .replace(
      /ENGINE = Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, ([^)]*))?\)/,
      (_m, engine: string, args?: string) => `ENGINE = ${engine}${args ? `(${args})` : ''}`,
    )
}

/** Distributed tables, which one node cannot create. */
const distributed = new Set<string>()

/**
 * Runs a statement on one node: a Distributed table stops at the unknown cluster, an ALTER of one
 * finds no table; nothing else may fail.
 */
async function runOnOneNode(statement: string): Promise<void> {
  const name = /^(?:CREATE TABLE IF NOT EXISTS|ALTER TABLE) \w+\.(\w+)/.exec(statement)?.[1] ?? ''
  if (statement.includes('ENGINE = Distributed(')) {
    // chdb resolves the AS table and the sharding key's columns before it looks the cluster up
    // (a missing column or table fails earlier, with its own message): only the cluster is missing.
    expect(await failure(onOneNode(statement))).toMatch(/Requested cluster 'procstream' not found/)
    distributed.add(name)
  } else if (statement.startsWith('ALTER TABLE') && distributed.has(name)) {
    expect(await failure(onOneNode(statement))).toMatch(/UNKNOWN_TABLE|Could not find table/)
  } else {
    await clickhouse.command({ query: onOneNode(statement) })
  }
}

/**
 * A copy's statements as one shard runs its share: reading the local old tables (the Distributed
 * ones do not exist on one node) and filling the local staging table.
 */
function localCopy(c: PartitionCopy, stage: string): { partitions: string; fill: string } {
  const local = (sql: string): string =>
    sql
      .replaceAll(`${db}.${LEGACY_RAW_TABLE}`, `${db}.metrics_raw_local`)
      .replace(new RegExp(`${db}\\.(metrics_(?:10s|1m|1h))\\b(?!_local)`, 'g'), `${db}.$1_local`)
  const fill = local(c.fill(stage))
    .replace(` SETTINGS distributed_foreground_insert = 1, async_insert = 0`, '')
    .replace(
      `INSERT INTO ${db}.${stage} `,
      c.target === 'series' ? `INSERT INTO ${db}.${stage} ` : `INSERT INTO ${db}.${stage}_local `,
    )
  return { partitions: local(c.partitions), fill }
}

describe('cluster profile DDL', () => {
  it('parses every statement as written', async () => {
    // The parser does reject what it cannot read, so a pass below means something.
    await expect(
      format(`CREATE TABLE t${ON} (a UInt8 ENGINE = ReplicatedMergeTree ORDER BY a`),
    ).rejects.toThrow(/Syntax error/)
    for (const statement of all) {
      const formatted = await format(statement)
      // Migration 4's INSERT runs on one node (api_keys replicates it); migration 6's partition
      // lists and fills are queries through the Distributed tables.
      if (!/^(INSERT|SELECT)/.test(statement))
        expect(formatted, statement).toContain(' ON CLUSTER procstream')
      if (/ENGINE = \w/.test(statement))
        expect(formatted).toMatch(
          /ENGINE = (Replicated\w*MergeTree\('\/clickhouse\/tables\/|Distributed\(|`?Null`?$)/m,
        )
    }
  })

  it('on one node, builds the local tables and views, resolves each Distributed table up to its cluster, and copies the old rows', async () => {
    for (const statement of upToFive) await runOnOneNode(statement)
    const views = await rows<{ name: string; as_select: string }>(
      `SELECT name, as_select FROM system.tables
       WHERE database = {db:String} AND engine = 'MaterializedView' ORDER BY name`,
      { db },
    )
    expect(views.map((v) => v.name)).toEqual([
      'metrics_10s_mv',
      'metrics_1h_mv',
      'metrics_1m_mv',
      'points_10s_mv',
      'points_1h_mv',
      'points_1m_mv',
    ])
    for (const v of views)
      expect(v.as_select).toContain(
        v.name.startsWith('metrics') ? `FROM ${db}.metrics_raw_local` : `FROM ${db}.points_tier_feed_local`,
      )

    // Rows stored in a shard's local raw table reach its local old tiers through the old views.
    const start = Math.floor(Date.now() / 3_600_000) * 3_600_000_000 - 3_600_000_000
    const raw: [string, string, string, string, string, number][] = []
    for (let i = 0; i < 600; i++) {
      const host = `h${i % 3}`
      raw.push(['acme', 'node_load1', host, '{}', microsToDateTime64(start + i * 7_000_000), i % 17])
    }
    await clickhouse.insert({ table: `${db}.metrics_raw_local`, values: raw, format: 'JSONCompactEachRow' })
    for (const tier of ROLLUP_TIERS) {
      const [expected] = await rows<Record<string, string>>(
        `SELECT count() AS count, min(value) AS min, max(value) AS max, sum(value) AS sum,
           uniqExact(host, ${tier.bucketOf}) AS buckets
         FROM ${db}.metrics_raw_local`,
      )
      const [stored] = await rows<Record<string, string>>(
        `SELECT sum(value_count) AS count, min(value_min) AS min, max(value_max) AS max, sum(value_sum) AS sum,
           uniqExact(host, bucket) AS buckets
         FROM ${db}.${tier.table}_local`,
      )
      expect(stored).toEqual(expected)
      expect(Number(stored?.count)).toBe(raw.length)
    }
    // The new tiers fill from a shard's local tier feed.
    await clickhouse.command({
      query: `INSERT INTO ${db}.points_tier_feed_local SELECT tenant, ${SERIES_ID_SQL('tenant', 'metric', 'host', 'labels')}, ts, value FROM ${db}.metrics_raw_local`,
    })
    for (const { table } of POINTS_TIERS) {
      const [stored] = await rows<{ n: string }>(`SELECT sum(value_count) AS n FROM ${db}.${table}_local`)
      expect(Number(stored?.n)).toBe(raw.length)
    }
    for (const { table } of POINTS_TIERS)
      await clickhouse.command({ query: `TRUNCATE TABLE ${db}.${table}_local` })

    // Migration 6 on this shard: the fence (the Distributed raw table, absent here), the old views
    // dropped, then each copy from the local old tables into a local staging table swapped in.
    for (const statement of six?.statements ?? []) await runOnOneNode(statement)
    for (const c of copies?.tables ?? []) {
      const { partitions, fill } = localCopy(c, 'stage')
      for (const { partition_id } of await rows<{ partition_id: number }>(partitions)) {
        for (const statement of c.createStage('stage')) await runOnOneNode(statement)
        await clickhouse.command({ query: fill, query_params: { partition_id } })
        await clickhouse.command({ query: onOneNode(c.replace('stage', String(partition_id))) })
        for (const statement of copies?.dropStage('stage') ?? []) await runOnOneNode(statement)
      }
    }
    const id = seriesId('acme', 'node_load1', 'h0', '{}').toString()
    const [points] = await rows<{ n: string; ids: string }>(
      `SELECT toString(count()) AS n, toString(uniqExact(series_id)) AS ids FROM ${db}.points_local`,
    )
    expect(points).toEqual({ n: String(raw.length), ids: '3' })
    for (const { table, legacy } of POINTS_TIERS) {
      const [before] = await rows<{ n: string }>(`SELECT sum(value_count) AS n FROM ${db}.${legacy}_local`)
      const [after] = await rows<{ n: string }>(`SELECT sum(value_count) AS n FROM ${db}.${table}_local`)
      expect(after?.n).toBe(before?.n)
    }
    const [series] = await rows<{ n: string }>(
      `SELECT count() AS n FROM ${db}.series WHERE series_id = ${id} AND host = 'h0'`,
    )
    expect(Number(series?.n)).toBeGreaterThanOrEqual(1)
    for (const statement of copies?.afterwards ?? []) await runOnOneNode(statement)
    const left = await rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE 'metrics%'`,
      { db },
    )
    expect(left).toEqual([])
  })
})
