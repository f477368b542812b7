import { describe, expect, it } from 'vitest'
import {
  bootstrapStatements,
  CLUSTER_DEDUP_WINDOW_SECONDS,
  migrations,
  ROLLUP_TIERS,
  SHARDING_KEY,
  type DdlOptions,
} from './ddl.ts'

const BASE: DdlOptions = {
  database: 'procstream',
  rawTtlDays: 7,
  tier10sTtlDays: 30,
  tier1mTtlDays: 365,
  tier1hTtlDays: 1825,
  dedupWindow: 1000,
}
const CLUSTER: DdlOptions = { ...BASE, profile: 'cluster', cluster: 'metrics-cluster' }
const ON = ` ON CLUSTER 'metrics-cluster'`
const TABLES = ['metrics_raw', 'sample_log', ...ROLLUP_TIERS.map((t) => t.table)]

/** Every statement the generator emits for one set of options, as one reviewable SQL text. */
function script(bootstrap: string[], o: DdlOptions): string {
  const parts = [`-- bootstrap\n${bootstrap.map((s) => `${s};`).join('\n\n')}`]
  for (const m of migrations(o))
    parts.push(
      `-- migration ${m.version}: ${m.description}\n${m.statements.map((s) => `${s};`).join('\n\n')}`,
    )
  return `${parts.join('\n\n')}\n`
}

function statements(o: DdlOptions): string[] {
  return migrations(o).flatMap((m) => m.statements)
}

/** `CREATE TABLE` statements by the table they create (views excluded). */
function creates(list: string[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const s of list) {
    const m = /^CREATE TABLE IF NOT EXISTS procstream\.(\w+)/.exec(s)
    if (m?.[1] !== undefined) out.set(m[1], s)
  }
  return out
}

describe('single profile', () => {
  it('emits exactly the statements already applied to users’ data', async () => {
    // The snapshot was written from the generator before the cluster profile existed: migrations
    // 1 to 3 have run on users' databases, so not one character of them may change (4 was appended).
    await expect(script(bootstrapStatements(BASE.database), BASE)).toMatchFileSnapshot(
      './__snapshots__/single-profile.sql',
    )
    expect(statements({ ...BASE, profile: 'single' })).toEqual(statements(BASE))
    expect(bootstrapStatements(BASE.database, { profile: 'single' })).toEqual(
      bootstrapStatements(BASE.database),
    )
  })
})

describe('cluster profile', () => {
  const all = [...bootstrapStatements(CLUSTER.database, CLUSTER), ...statements(CLUSTER)]
  const tables = creates(all)

  it('is written out for review', async () => {
    // Once a cluster has run these, they are as frozen as the single profile's.
    await expect(script(bootstrapStatements(CLUSTER.database, CLUSTER), CLUSTER)).toMatchFileSnapshot(
      './__snapshots__/cluster-profile.sql',
    )
  })

  it('runs every statement ON CLUSTER, but the rows migration 4 writes into a table every node replicates', () => {
    // Bootstrap 2; migration 1: two tables, each local + Distributed; migration 2: local, Distributed and
    // view per tier, two ALTERs; migration 3: tenants and api_keys; migration 4: one INSERT.
    expect(all.length).toBe(2 + 4 + 3 * ROLLUP_TIERS.length + 2 + 2 + 1)
    const inserts = all.filter((s) => s.startsWith('INSERT'))
    expect(inserts.length).toBe(1)
    // Not ON CLUSTER: api_keys is one replicated table on every node, so one node's insert reaches all.
    expect(inserts[0]).toMatch(/^INSERT INTO procstream\.api_keys \(/)
    expect(tables.get('api_keys')).toContain(
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/api_keys'",
    )
    for (const s of all.filter((x) => !x.startsWith('INSERT'))) {
      const head = s.split('\n')[0] ?? ''
      expect(head).toMatch(
        /^(CREATE DATABASE IF NOT EXISTS|CREATE TABLE IF NOT EXISTS|CREATE MATERIALIZED VIEW IF NOT EXISTS|ALTER TABLE) procstream(\.\w+)? ON CLUSTER 'metrics-cluster'( |$)/,
      )
    }
  })

  it('stores rows in Replicated*MergeTree `_local` tables, one replication path per shard and table', () => {
    const engines = all.flatMap((s) => [...s.matchAll(/ENGINE = (\w*MergeTree)\b(\([^)]*\))?/g)])
    expect(engines.length).toBe(TABLES.length + 3)
    for (const e of engines) expect(e[1]).toMatch(/^Replicated/)
    for (const table of TABLES) {
      const local = tables.get(`${table}_local`) ?? ''
      const family = table === 'metrics_raw' || table === 'sample_log' ? 'MergeTree' : 'AggregatingMergeTree'
      expect(local).toContain(
        `ENGINE = Replicated${family}('/clickhouse/tables/{shard}/{database}/${table}_local', '{replica}')`,
      )
      expect(local).toContain(
        `SETTINGS replicated_deduplication_window = 1000, replicated_deduplication_window_seconds = ${CLUSTER_DEDUP_WINDOW_SECONDS}`,
      )
    }
    // One bookkeeping table for the whole cluster: every node of every shard replicates it.
    expect(tables.get('schema_migrations')).toContain(
      `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/schema_migrations', '{shard}-{replica}')`,
    )
    for (const s of all) expect(s).not.toContain('non_replicated_deduplication_window')
    // Tenants and keys too: each node reads the whole table to authenticate, whatever its shard.
    for (const table of ['tenants', 'api_keys'])
      expect(tables.get(table)).toContain(
        `ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/${table}', '{shard}-{replica}', version)`,
      )
  })

  it('keeps the single profile’s columns, codecs, keys, partitions and TTLs in each local table', () => {
    const single = creates(statements(BASE))
    for (const table of TABLES) {
      const local = (tables.get(`${table}_local`) ?? '')
        .replace(`${table}_local${ON}`, table)
        .replace(/ENGINE = Replicated(\w+)\([^)]*\)/, 'ENGINE = $1')
        .replace(/SETTINGS .*$/, '')
      expect(local).toBe((single.get(table) ?? '').replace(/SETTINGS .*$/, ''))
    }
  })

  it('gives every table its plain name as a Distributed table over the local one, sharded by tenant and host', () => {
    expect(SHARDING_KEY).toBe('cityHash64(tenant, host)')
    const distributed = [...tables].filter(([, s]) => s.includes('ENGINE = Distributed('))
    expect(distributed.map(([name]) => name).sort()).toEqual([...TABLES].sort())
    for (const [name, s] of distributed) {
      expect(s).toBe(
        `CREATE TABLE IF NOT EXISTS procstream.${name}${ON} AS procstream.${name}_local
ENGINE = Distributed('metrics-cluster', 'procstream', '${name}_local', cityHash64(tenant, host))`,
      )
      // Created after its local table, whose columns it copies.
      expect(all.indexOf(s)).toBeGreaterThan(all.indexOf(tables.get(`${name}_local`) ?? ''))
    }
  })

  it('has each view read the local raw table and write the local tier, on every shard', () => {
    const views = all.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'))
    expect(views.length).toBe(ROLLUP_TIERS.length)
    for (const tier of ROLLUP_TIERS) {
      const view = views.find((v) => v.includes(`procstream.${tier.table}_mv${ON}`)) ?? ''
      expect(view).toContain(`${ON} TO procstream.${tier.table}_local AS\n`)
      expect(view).toContain('\nFROM procstream.metrics_raw_local\n')
      expect(view).not.toMatch(/procstream\.metrics_raw\b(?!_local)/)
    }
  })

  it('alters the codecs of the local raw table, which holds the data', () => {
    const alters = all.filter((s) => s.startsWith('ALTER TABLE'))
    expect(alters.map((s) => s.split(' MODIFY')[0])).toEqual([
      `ALTER TABLE procstream.metrics_raw_local${ON}`,
      `ALTER TABLE procstream.metrics_raw_local${ON}`,
    ])
  })

  it('refuses to generate without a usable cluster name', () => {
    expect(() => migrations({ ...BASE, profile: 'cluster' })).toThrow(/cluster name/)
    expect(() => migrations({ ...BASE, profile: 'cluster', cluster: "x' SETTINGS a=1 --" })).toThrow(
      /cluster name/,
    )
    expect(() => bootstrapStatements('procstream', { profile: 'cluster' })).toThrow(/cluster name/)
    expect(bootstrapStatements('procstream', { profile: 'cluster', cluster: '{cluster}' })[0]).toBe(
      `CREATE DATABASE IF NOT EXISTS procstream ON CLUSTER '{cluster}'`,
    )
  })
})
