import { describe, expect, it } from 'vitest'
import {
  bootstrapStatements,
  CLUSTER_DEDUP_WINDOW_SECONDS,
  LEGACY_RAW_TABLE,
  migrations,
  POINTS_TIERS,
  ROLLUP_TIERS,
  SERIES_SHARDING_KEY,
  SHARDING_KEY,
  stagePrefix,
  type DdlOptions,
  type Migration,
  type PartitionCopy,
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
/** Tables of migrations 1 and 2 (dropped by 6) and of 5, stored per shard in the cluster profile. */
const OLD_TABLES = ['metrics_raw', 'sample_log', ...ROLLUP_TIERS.map((t) => t.table)]
const NEW_TABLES = ['points', ...POINTS_TIERS.map((t) => t.table)]
const SHARDED = [...OLD_TABLES, ...NEW_TABLES]
/** Small tables every node of the cluster holds whole. */
const EVERYWHERE = ['schema_migrations', 'tenants', 'api_keys', 'series', 'schema_migration_steps']

/** A partition id of the shape each target's partition key gives. */
const SAMPLE_PARTITION: Record<string, string> = {
  points: '20260101',
  points_10s: '20260101',
  points_1m: '202601',
  points_1h: '2026',
  series: '202601',
}

function stageOf(version: number, copy: PartitionCopy): string {
  return `${stagePrefix(version)}${copy.target}_${SAMPLE_PARTITION[copy.target] ?? ''}_0a1b2c3d`
}

/** What a migration's copies run for one partition of each table (migrate.ts), then afterwards. */
function copyStatements(m: Migration): string[] {
  if (!m.copies) return []
  const { tables, dropStage, afterwards } = m.copies
  return [
    ...tables.flatMap((c) => {
      const stage = stageOf(m.version, c)
      return [
        c.partitions,
        ...c.createStage(stage),
        c.fill(stage),
        c.replace(stage, SAMPLE_PARTITION[c.target] ?? ''),
        ...dropStage(stage),
      ]
    }),
    ...afterwards,
  ]
}

/** Every statement the generator emits for one set of options, as one reviewable SQL text. */
function script(bootstrap: string[], o: DdlOptions): string {
  const parts = [`-- bootstrap\n${bootstrap.map((s) => `${s};`).join('\n\n')}`]
  for (const m of migrations(o)) {
    parts.push(
      `-- migration ${m.version}: ${m.description}\n${m.statements.map((s) => `${s};`).join('\n\n')}`,
    )
    if (m.copies)
      parts.push(
        `-- migration ${m.version}, copies (migrate.ts), shown for one partition of each table, then afterwards\n${copyStatements(
          m,
        )
          .map((s) => `${s};`)
          .join('\n\n')}`,
      )
  }
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

function copyOf(o: DdlOptions, target: string): PartitionCopy {
  const copy = migrations(o)
    .find((m) => m.version === 6)
    ?.copies?.tables.find((c) => c.target === target)
  if (!copy) throw new Error(`no copy into ${target}`)
  return copy
}

describe('single profile', () => {
  it('emits exactly the statements already applied to users’ data', async () => {
    // The snapshot was written from the generator before the cluster profile existed: migrations
    // 1 to 4 have run on users' databases, so not one character of them may change (5 and 6, the
    // series-id layout and the copy into it, were appended).
    await expect(script(bootstrapStatements(BASE.database), BASE)).toMatchFileSnapshot(
      './__snapshots__/single-profile.sql',
    )
    expect(statements({ ...BASE, profile: 'single' })).toEqual(statements(BASE))
    expect(bootstrapStatements(BASE.database, { profile: 'single' })).toEqual(
      bootstrapStatements(BASE.database),
    )
  })

  it('stages each copied partition in a table of the target’s own structure, which keeps every row', () => {
    const single = creates(statements(BASE))
    for (const target of [...NEW_TABLES, 'series']) {
      const copy = copyOf(BASE, target)
      const [stage, ...more] = copy.createStage('st')
      expect(more).toEqual([])
      // REPLACE PARTITION needs the same columns, keys and partitioning; only the name and the
      // deduplication window differ (a staging table deduplicating by content would drop rows).
      expect(stage).toBe(
        (single.get(target) ?? '')
          .replace(`procstream.${target} (`, 'procstream.st (')
          .replace(/non_replicated_deduplication_window = \d+$/, 'non_replicated_deduplication_window = 0'),
      )
      expect(copy.replace('st', '20260101')).toBe(
        `ALTER TABLE procstream.${target} REPLACE PARTITION ID '20260101' FROM procstream.st`,
      )
      expect(copy.fill('st')).toMatch(new RegExp(`^INSERT INTO procstream\\.st \\(`))
      expect(copy.fill('st')).toContain('{partition_id:UInt32}')
    }
    expect(copyOf(BASE, 'points').sources).toEqual([LEGACY_RAW_TABLE])
  })
})

describe('cluster profile', () => {
  const all = [...bootstrapStatements(CLUSTER.database, CLUSTER), ...statements(CLUSTER)]
  const six = migrations(CLUSTER).find((m) => m.version === 6) as Migration
  const copies = copyStatements(six)
  const tables = creates([...all, ...copies])

  it('is written out for review', async () => {
    // Once a cluster has run these, they are as frozen as the single profile's.
    await expect(script(bootstrapStatements(CLUSTER.database, CLUSTER), CLUSTER)).toMatchFileSnapshot(
      './__snapshots__/cluster-profile.sql',
    )
  })

  it('runs every statement ON CLUSTER, but the rows migration 4 writes into a table every node replicates', () => {
    // Bootstrap 2; migration 1: two tables, each local + Distributed; 2: local, Distributed and view
    // per tier, two ALTERs; 3: tenants and api_keys; 4: one INSERT; 5: series, points and the tier
    // feed (local + Distributed), per tier local, Distributed and view, two ALTERs; 6: the steps
    // table, the fence, a DROP per old view.
    expect(all.length).toBe(2 + 4 + 3 * 3 + 2 + 2 + 1 + (1 + 2 + 2 + 3 * 3 + 2) + (1 + 1 + 3))
    const inserts = all.filter((s) => s.startsWith('INSERT'))
    expect(inserts.length).toBe(1)
    // Not ON CLUSTER: api_keys is one replicated table on every node, so one node's insert reaches all.
    expect(inserts[0]).toMatch(/^INSERT INTO procstream\.api_keys \(/)
    expect(tables.get('api_keys')).toContain(
      "ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/api_keys'",
    )
    for (const s of [...all, ...copies].filter((x) => !/^(INSERT|SELECT|RENAME)/.test(x))) {
      const head = s.split('\n')[0] ?? ''
      expect(head).toMatch(
        /^(CREATE DATABASE IF NOT EXISTS|CREATE TABLE IF NOT EXISTS|CREATE MATERIALIZED VIEW IF NOT EXISTS|ALTER TABLE|DROP VIEW IF EXISTS|DROP TABLE IF EXISTS) procstream(\.\w+)? ON CLUSTER 'metrics-cluster'( |$)/,
      )
    }
    expect(all.filter((s) => s.startsWith('RENAME'))).toEqual([
      `RENAME TABLE IF EXISTS procstream.metrics_raw TO procstream.${LEGACY_RAW_TABLE}${ON}`,
    ])
  })

  it('stores rows in Replicated*MergeTree `_local` tables, one replication path per shard and table', () => {
    for (const table of SHARDED) {
      const local = tables.get(`${table}_local`) ?? ''
      const family = /^(metrics_raw|sample_log|points)$/.test(table) ? 'MergeTree' : 'AggregatingMergeTree'
      expect(local).toContain(
        `ENGINE = Replicated${family}('/clickhouse/tables/{shard}/{database}/${table}_local', '{replica}')`,
      )
      expect(local).toContain(
        `SETTINGS replicated_deduplication_window = 1000, replicated_deduplication_window_seconds = ${CLUSTER_DEDUP_WINDOW_SECONDS}`,
      )
    }
    const engines = all.flatMap((s) => [...s.matchAll(/ENGINE = (\w*MergeTree)\b(\([^)]*\))?/g)])
    expect(engines.length).toBe(SHARDED.length + EVERYWHERE.length)
    for (const e of engines) expect(e[1]).toMatch(/^Replicated/)
    for (const s of all) expect(s).not.toContain('non_replicated_deduplication_window')
    // Small shared state: every node of every shard replicates the whole table, no {shard} in the path.
    for (const table of EVERYWHERE)
      expect(tables.get(table)).toMatch(
        new RegExp(
          `ENGINE = ReplicatedReplacingMergeTree\\('/clickhouse/tables/\\{database\\}/${table}', '\\{shard\\}-\\{replica\\}'`,
        ),
      )
  })

  it('keeps the single profile’s columns, codecs, keys, partitions and TTLs in each local table', () => {
    const single = creates(statements(BASE))
    const same = (cluster: string, name: string): string =>
      cluster
        .replace(`${name}${ON}`, name.replace(/_local$/, ''))
        .replace(/ENGINE = Replicated(\w+)\('[^']*', '[^']*'(?:, (\w+))?\)/, (_m, e: string, v?: string) =>
          v ? `ENGINE = ${e}(${v})` : `ENGINE = ${e}`,
        )
        .replace(/SETTINGS .*$/, '')
    for (const table of SHARDED)
      expect(same(tables.get(`${table}_local`) ?? '', `${table}_local`)).toBe(
        (single.get(table) ?? '').replace(/SETTINGS .*$/, ''),
      )
    for (const table of EVERYWHERE.filter((t) => t !== 'schema_migrations'))
      expect(same(tables.get(table) ?? '', table)).toBe(single.get(table))
  })

  it('gives every sharded table its plain name as a Distributed table over the local one', () => {
    expect(SHARDING_KEY).toBe('cityHash64(tenant, host)')
    expect(SERIES_SHARDING_KEY).toBe('series_id')
    const distributed = [...creates(all)].filter(([, s]) => s.includes('ENGINE = Distributed('))
    expect(distributed.map(([name]) => name).sort()).toEqual([...SHARDED, 'points_tier_feed'].sort())
    for (const [name, s] of distributed) {
      // A host's old rows on one shard; a series' new rows on one shard.
      const key = OLD_TABLES.includes(name) ? 'cityHash64(tenant, host)' : 'series_id'
      expect(s).toBe(
        `CREATE TABLE IF NOT EXISTS procstream.${name}${ON} AS procstream.${name}_local
ENGINE = Distributed('metrics-cluster', 'procstream', '${name}_local', ${key})`,
      )
      // Created after its local table, whose columns it copies.
      expect(all.indexOf(s)).toBeGreaterThan(all.indexOf(tables.get(`${name}_local`) ?? ''))
    }
  })

  it('has each view read a local table and write the local tier, on every shard', () => {
    const views = all.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'))
    expect(views.length).toBe(ROLLUP_TIERS.length + POINTS_TIERS.length)
    for (const tier of ROLLUP_TIERS) {
      const view = views.find((v) => v.includes(`procstream.${tier.table}_mv${ON}`)) ?? ''
      expect(view).toContain(`${ON} TO procstream.${tier.table}_local AS\n`)
      expect(view).toContain('\nFROM procstream.metrics_raw_local\n')
    }
    for (const { table } of POINTS_TIERS) {
      const view = views.find((v) => v.includes(`procstream.${table}_mv${ON}`)) ?? ''
      expect(view).toContain(`${ON} TO procstream.${table}_local AS\n`)
      expect(view).toContain('\nFROM procstream.points_tier_feed_local\n')
    }
  })

  it('alters the local tables, which hold the data (and the Distributed sample log, whose columns are its own)', () => {
    const alters = all.filter((s) => s.startsWith('ALTER TABLE'))
    expect(alters.map((s) => s.split(/ (MODIFY|ADD)/)[0])).toEqual([
      `ALTER TABLE procstream.metrics_raw_local${ON}`,
      `ALTER TABLE procstream.metrics_raw_local${ON}`,
      `ALTER TABLE procstream.sample_log_local${ON}`,
      `ALTER TABLE procstream.sample_log${ON}`,
    ])
  })

  it('copies through Distributed staging tables and swaps each partition in on the local tables', () => {
    for (const target of NEW_TABLES) {
      const copy = copyOf(CLUSTER, target)
      const [local, dist, ...more] = copy.createStage('st')
      expect(more).toEqual([])
      // Its own replication path (a staging table under the target's path would be a replica of it).
      expect(local).toBe(
        (tables.get(`${target}_local`) ?? '')
          .replaceAll(`${target}_local`, 'st_local')
          .replace(/SETTINGS .*$/, 'SETTINGS replicated_deduplication_window = 0'),
      )
      expect(dist).toBe(`CREATE TABLE IF NOT EXISTS procstream.st${ON} AS procstream.st_local
ENGINE = Distributed('metrics-cluster', 'procstream', 'st_local', series_id)`)
      // Rows go to their series' shard, every shard holding them before the INSERT returns.
      expect(copy.fill('st')).toMatch(
        /^INSERT INTO procstream\.st \([^)]*\) SETTINGS distributed_foreground_insert = 1, async_insert = 0\nSELECT /,
      )
      expect(copy.replace('st', '2026')).toBe(
        `ALTER TABLE procstream.${target}_local${ON} REPLACE PARTITION ID '2026' FROM procstream.st_local`,
      )
    }
    // The series table is whole on every node: its staging table too, replicated on its own path.
    const series = copyOf(CLUSTER, 'series')
    expect(series.createStage('st')).toEqual([
      (tables.get('series') ?? '')
        .replace('procstream.series ON', 'procstream.st ON')
        .replace('/{database}/series', '/{database}/st')
        .concat('\nSETTINGS replicated_deduplication_window = 0'),
    ])
    expect(series.replace('st', '202601')).toBe(
      `ALTER TABLE procstream.series${ON} REPLACE PARTITION ID '202601' FROM procstream.st`,
    )
    expect(six.copies?.dropStage('st')).toEqual([
      `DROP TABLE IF EXISTS procstream.st${ON} SYNC`,
      `DROP TABLE IF EXISTS procstream.st_local${ON} SYNC`,
    ])
    // The old tables go once everything is copied: each Distributed table and the local one under it.
    expect(six.copies?.afterwards).toEqual(
      [
        [LEGACY_RAW_TABLE, 'metrics_raw_local'],
        ...ROLLUP_TIERS.map((t) => [t.table, `${t.table}_local`]),
      ].flatMap((pair) => pair.map((t) => `DROP TABLE IF EXISTS procstream.${t}${ON} SYNC`)),
    )
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
