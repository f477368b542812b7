/**
 * The cluster schema profile against the cluster the deployment files describe. chdb has no cluster
 * and no Keeper, so nothing here runs a statement as a cluster would; what it can check is that
 * ClickHouse's own parser accepts every statement the processors will send with the deployment's
 * CLICKHOUSE_CLUSTER, that each one runs ON that cluster with the engines the profile promises, and
 * that every macro the statements use is defined on every node of the Compose cluster.
 * (schemas/clickhouse/__tests__/integration/cluster-ddl.test.ts checks the profile on its own: the
 * local tables and views built on one node, rows reaching every tier.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { createClickHouse, readClickHouseConfig } from '#platform/clickhouse.ts'
import { ConfigReader } from '#platform/config.ts'
import {
  bootstrapStatements,
  migrations,
  POINTS_TIERS,
  ROLLUP_TIERS,
  SERIES_SHARDING_KEY,
  SHARDING_KEY,
  stagePrefix,
  type DdlOptions,
} from '#schemas/clickhouse/ddl.ts'

const DEPLOY = resolve(import.meta.dirname, '../..')

/** The cluster's name as Compose's ClickHouse servers define it in remote_servers. */
function remoteServersCluster(): string {
  const xml = readFileSync(join(DEPLOY, 'compose/clickhouse/cluster.xml'), 'utf8').replace(
    /<!--[\s\S]*?-->/g,
    '',
  )
  return /<remote_servers>\s*<([\w.-]+)>/.exec(xml)?.[1] ?? ''
}

/** CLICKHOUSE_CLUSTER as the procstream services of the cluster deployments are given it. */
function configuredClusters(): string[] {
  const names: string[] = []
  const compose = parseAllDocuments(readFileSync(join(DEPLOY, 'compose/cluster.yaml'), 'utf8'), {
    merge: true,
  })
  const doc = (Array.isArray(compose) ? compose[0] : compose)?.toJS() as {
    services: Record<string, { environment?: Record<string, unknown> }>
  }
  for (const s of Object.values(doc.services)) {
    const name = s.environment?.CLICKHOUSE_CLUSTER
    if (typeof name === 'string') names.push(name)
  }
  const overlay = readFileSync(join(DEPLOY, 'k8s/overlays/cluster/kustomization.yaml'), 'utf8')
  for (const m of overlay.matchAll(/CLICKHOUSE_CLUSTER=([\w.-]+)/g)) names.push(m[1] as string)
  return names
}

/** The macros each Compose ClickHouse node defines, by file. */
function nodeMacros(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const node of ['ch-s1-r1', 'ch-s1-r2', 'ch-s2-r1', 'ch-s2-r2']) {
    const xml = readFileSync(join(DEPLOY, `compose/clickhouse/macros/${node}.xml`), 'utf8')
    const body = /<macros>([\s\S]*?)<\/macros>/.exec(xml)?.[1] ?? ''
    out.set(node, new Set([...body.matchAll(/<(\w+)>[^<]*<\/\1>/g)].map((m) => m[1] as string)))
  }
  return out
}

const CLUSTER = remoteServersCluster()
const o: DdlOptions = {
  database: 'procstream',
  rawTtlDays: 7,
  tier10sTtlDays: 30,
  tier1mTtlDays: 365,
  tier1hTtlDays: 1825,
  dedupWindow: 1000,
  profile: 'cluster',
  cluster: CLUSTER,
}
/** Every statement, migration 6's copies as migrate.ts runs them for one partition of each table. */
const STATEMENTS = [
  ...bootstrapStatements(o.database, o),
  ...migrations(o).flatMap((m) => [
    ...m.statements,
    ...(m.copies?.tables ?? []).flatMap((c) => {
      const stage = `${stagePrefix(m.version)}${c.target}_1_run`
      return [c.partitions, ...c.createStage(stage), c.fill(stage), c.replace(stage, '1')]
    }),
    ...(m.copies?.dropStage(`${stagePrefix(m.version)}points_1_run`) ?? []),
    ...(m.copies?.afterwards ?? []),
  ]),
]
/** Sharded by host (migrations 1 and 2, dropped by 6) and by series (5). */
const BY_HOST = ['metrics_raw', 'sample_log', ...ROLLUP_TIERS.map((t) => t.table)]
const BY_SERIES = ['points', ...POINTS_TIERS.map((t) => t.table)]
const STORED = [...BY_HOST, ...BY_SERIES]

const dataDir = mkdtempSync(join(tmpdir(), 'procstream-deploy-ddl-'))
let clickhouse: ClickHouseClient

beforeAll(async () => {
  clickhouse = await createClickHouse(readClickHouseConfig(new ConfigReader({}), dataDir))
})

afterAll(async () => {
  await clickhouse.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** ClickHouse's parser, executing nothing: the statement as ClickHouse itself would print it. */
async function format(statement: string): Promise<string> {
  const rs = await clickhouse.query({
    query: 'SELECT formatQuery({q:String}) AS f',
    query_params: { q: statement },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ f: string }>()
  return row?.f ?? ''
}

describe('the cluster profile on the deployed cluster', () => {
  it('is given the cluster the servers define, everywhere', () => {
    expect(CLUSTER).toBe('procstream')
    const configured = configuredClusters()
    expect(configured.length).toBeGreaterThanOrEqual(2)
    expect(new Set(configured)).toEqual(new Set([CLUSTER]))
  })

  it('parses every statement with ClickHouse, each DDL statement ON that cluster', async () => {
    // The parser does refuse what it cannot read, so the passes below mean something.
    await expect(format(`CREATE TABLE t ON CLUSTER '${CLUSTER}' (a UInt8 ENGINE = Memory`)).rejects.toThrow(
      /Syntax error/,
    )
    expect(STATEMENTS.length).toBeGreaterThan(10)
    for (const statement of STATEMENTS) {
      const formatted = await format(statement)
      // Data written to a table every node replicates (the key migration) is written once, on one
      // node; migration 6 reads and copies through the Distributed tables from one node.
      if (/^(INSERT|SELECT)/.test(statement)) expect(formatted, statement).not.toContain(' ON CLUSTER ')
      else expect(formatted, statement).toContain(` ON CLUSTER ${CLUSTER}`)
    }
  })

  it('stores rows in Replicated tables per shard, under Distributed tables sharded by tenant and host', async () => {
    const creates = STATEMENTS.filter((s) => s.startsWith('CREATE TABLE'))
    for (const table of STORED) {
      const local = creates.find((s) => s.includes(`${o.database}.${table}_local ON CLUSTER`))
      expect(local, `${table}_local`).toBeDefined()
      expect(await format(local ?? '')).toMatch(
        new RegExp(
          `ENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/\\{database\\}/${table}_local', '\\{replica\\}'\\)`,
        ),
      )
      const distributed = creates.find((s) => s.includes(`${o.database}.${table} ON CLUSTER`))
      const key = BY_HOST.includes(table) ? SHARDING_KEY : SERIES_SHARDING_KEY
      expect(await format(distributed ?? '')).toContain(
        `ENGINE = Distributed('${CLUSTER}', '${o.database}', '${table}_local', ${key})`,
      )
    }
    // Small shared state, every node a replica of the whole table: no {shard} in the path.
    for (const table of ['schema_migrations', 'tenants', 'api_keys', 'series', 'schema_migration_steps']) {
      const create = creates.find((s) => s.includes(`${o.database}.${table} ON CLUSTER`))
      expect(await format(create ?? ''), table).toMatch(
        new RegExp(
          `ENGINE = ReplicatedReplacingMergeTree\\('/clickhouse/tables/\\{database\\}/${table}', '\\{shard\\}-\\{replica\\}'`,
        ),
      )
    }
    // Views read and write the local tables, so each shard rolls up exactly the rows it stores.
    const views = [
      ...ROLLUP_TIERS.map((t) => [t.table, 'metrics_raw_local']),
      ...POINTS_TIERS.map((t) => [t.table, 'points_tier_feed_local']),
    ]
    for (const [table, from] of views) {
      const view = STATEMENTS.find((s) =>
        s.includes(`MATERIALIZED VIEW IF NOT EXISTS ${o.database}.${table}_mv`),
      )
      const formatted = await format(view ?? '')
      expect(formatted).toContain(`TO ${o.database}.${table}_local`)
      expect(formatted).toContain(`FROM ${o.database}.${from}`)
    }
  })

  it('uses only macros every node of the Compose cluster defines', () => {
    const used = new Set(STATEMENTS.flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string)))
    // {database} is ClickHouse's own; the others must come from each server's <macros>.
    used.delete('database')
    expect([...used].sort()).toEqual(['replica', 'shard'])
    for (const [node, defined] of nodeMacros())
      for (const macro of used) expect(defined.has(macro), `${node} defines {${macro}}`).toBe(true)
  })
})
