/**
 * The cluster profile's statements against embedded ClickHouse. chdb has no cluster and no Keeper, so
 * nothing here runs them as a cluster would (the cluster deployment's own tests do); what it can
 * check is that every statement parses as written, and that on one node, with only the cluster-bound
 * parts taken out, the local tables, views and Distributed definitions resolve and the views fill
 * the local tiers from the local raw table.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse, readClickHouseConfig } from '../../../../platform/clickhouse.ts'
import { ConfigReader } from '../../../../platform/config.ts'
import { microsToDateTime64, type RawRow } from '../../../../stream-processors/src/rows.ts'
import { bootstrapStatements, migrations, ROLLUP_TIERS, type DdlOptions } from '../../ddl.ts'

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
const ON = ` ON CLUSTER 'procstream'`
const all = [...bootstrapStatements(o.database, o), ...migrations(o).flatMap((m) => m.statements)]

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

describe('cluster profile DDL', () => {
  it('parses every statement as written', async () => {
    // The parser does reject what it cannot read, so a pass below means something.
    await expect(
      format(`CREATE TABLE t${ON} (a UInt8 ENGINE = ReplicatedMergeTree ORDER BY a`),
    ).rejects.toThrow(/Syntax error/)
    for (const statement of all) {
      const formatted = await format(statement)
      // Migration 4's INSERT runs on one node: api_keys replicates it to the others.
      if (!statement.startsWith('INSERT')) expect(formatted).toContain(' ON CLUSTER procstream')
      if (/ENGINE = \w/.test(statement))
        expect(formatted).toMatch(/ENGINE = (Replicated\w*MergeTree\('\/clickhouse\/tables\/|Distributed\()/)
    }
  })

  it('on one node, builds the local tables and views, and resolves each Distributed table up to its cluster', async () => {
    for (const statement of all) {
      if (statement.includes('ENGINE = Distributed(')) {
        // chdb resolves the AS table and the sharding key's columns before it looks the cluster up
        // (a missing column or table fails earlier, with its own message): only the cluster is missing.
        expect(await failure(onOneNode(statement))).toMatch(/Requested cluster 'procstream' not found/)
      } else {
        await clickhouse.command({ query: onOneNode(statement) })
      }
    }
    const views = await rows<{ name: string; as_select: string }>(
      `SELECT name, as_select FROM system.tables
       WHERE database = {db:String} AND engine = 'MaterializedView' ORDER BY name`,
      { db: o.database },
    )
    expect(views.map((v) => v.name)).toEqual(['metrics_10s_mv', 'metrics_1h_mv', 'metrics_1m_mv'])
    for (const v of views) expect(v.as_select).toContain(`FROM ${o.database}.metrics_raw_local`)

    // Rows stored in a shard's local raw table reach its local tiers through the views.
    const start = Math.floor(Date.now() / 3_600_000) * 3_600_000_000 - 3_600_000_000
    const raw: RawRow[] = []
    for (let i = 0; i < 600; i++) {
      const host = `h${i % 3}`
      raw.push(['acme', 'node_load1', host, '{}', microsToDateTime64(start + i * 7_000_000), i % 17])
    }
    await clickhouse.insert({
      table: `${o.database}.metrics_raw_local`,
      values: raw,
      format: 'JSONCompactEachRow',
    })
    for (const tier of ROLLUP_TIERS) {
      const [expected] = await rows<Record<string, string>>(
        `SELECT count() AS count, min(value) AS min, max(value) AS max, sum(value) AS sum,
           uniqExact(host, ${tier.bucketOf}) AS buckets
         FROM ${o.database}.metrics_raw_local`,
      )
      const [stored] = await rows<Record<string, string>>(
        `SELECT sum(value_count) AS count, min(value_min) AS min, max(value_max) AS max, sum(value_sum) AS sum,
           uniqExact(host, bucket) AS buckets
         FROM ${o.database}.${tier.table}_local`,
      )
      expect(stored).toEqual(expected)
      expect(Number(stored?.count)).toBe(raw.length)
    }
  })
})
