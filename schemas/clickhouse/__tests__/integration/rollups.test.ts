/**
 * The rollup tiers against embedded ClickHouse: migration 2 applied on top of migration 1, rows
 * written by the processor's own sink (same settings, same tokens), and every tier checked against
 * the same aggregates computed from metrics_raw. One chdb data directory for the file (chdb binds one
 * per process), a fresh database per test.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse, readClickHouseConfig } from '../../../../platform/clickhouse.ts'
import { ConfigReader } from '../../../../platform/config.ts'
import { ClickHouseSink } from '../../../../stream-processors/src/clickhouse-sink.ts'
import { microsToDateTime64, newRowBatch, type RawRow } from '../../../../stream-processors/src/rows.ts'
import { migrations, RAW_INSERT_SETTINGS, ROLLUP_TIERS, type DdlOptions } from '../../ddl.ts'
import { migrate } from '../../migrate.ts'
import { prng } from '../../../../platform/prng.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'procstream-rollups-'))
let clickhouse: ClickHouseClient
let databases = 0

beforeAll(async () => {
  clickhouse = await createClickHouse(readClickHouseConfig(new ConfigReader({}), dataDir))
})

afterAll(async () => {
  await clickhouse.close()
  rmSync(dataDir, { recursive: true, force: true })
})

function options(): DdlOptions {
  return {
    database: `rollups_${process.pid}_${++databases}`,
    rawTtlDays: 7,
    tier10sTtlDays: 30,
    tier1mTtlDays: 365,
    tier1hTtlDays: 1825,
    dedupWindow: 100,
  }
}

async function rows<T>(query: string): Promise<T[]> {
  const rs = await clickhouse.query({ query, format: 'JSONEachRow' })
  return rs.json<T>()
}

async function write(db: string, raw: RawRow[], token: string): Promise<void> {
  await new ClickHouseSink(clickhouse, db).write({ ...newRowBatch(), raw }, token)
}

/**
 * 90 s before the last UTC midnight: a 3-minute range then crosses a day, an hour, several minutes
 * and many 10 s buckets, so one insert lands in two daily partitions of metrics_raw and metrics_10s
 * (and, on the 1st, two monthly ones). Recent enough that no TTL removes it.
 */
function rangeStartUs(): number {
  return lastMidnightUs() - 90_000_000
}

function lastMidnightUs(): number {
  return Math.floor(Date.now() / 86_400_000) * 86_400_000_000
}

const SERIES = [
  ['acme', 'node_load1', 'h1', '{}'],
  ['acme', 'node_cpu_seconds_total', 'h1', '{"cpu":"0","mode":"user"}'],
  ['acme', 'node_cpu_seconds_total', 'h2', '{"cpu":"0","mode":"user"}'],
  ['globex', 'node_load1', 'h1', '{}'],
] as const

/** One row per series every ~1.3 s over 3 minutes, each (series, ts) unique so `last` has no ties. */
function seriesRows(random: () => number): RawRow[] {
  const start = rangeStartUs()
  const out: RawRow[] = []
  for (const [tenant, metric, host, labels] of SERIES) {
    let value = random() * 100
    for (let us = start + Math.floor(random() * 1_000_000); us < start + 180_000_000;) {
      value += (random() - 0.3) * 5
      out.push([tenant, metric, host, labels, microsToDateTime64(us), Math.round(value * 100) / 100])
      us += 700_000 + Math.floor(random() * 1_200_000)
    }
  }
  return out
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const a = items[i] as T
    items[i] = items[j] as T
    items[j] = a
  }
  return items
}

interface Bucket {
  tenant: string
  metric: string
  host: string
  labels: string
  bucket: string
  min: number
  max: number
  sum: number
  count: number
  last: number
}

const KEYS = 'tenant, metric, host, labels, bucket'

/** What each tier should hold, computed from the raw rows. */
function fromRaw(db: string, seconds: number): Promise<Bucket[]> {
  return rows<Bucket>(`
SELECT tenant, metric, host, labels, toStartOfInterval(ts, INTERVAL ${seconds} SECOND) AS bucket,
  min(value) AS min, max(value) AS max, sum(value) AS sum, count() AS count, argMax(value, ts) AS last
FROM ${db}.metrics_raw GROUP BY ${KEYS} ORDER BY ${KEYS}`)
}

/** A tier read as a reader would: merging the parts not yet merged, with the columns' own functions. */
function fromTier(db: string, table: string): Promise<Bucket[]> {
  return rows<Bucket>(`
SELECT ${KEYS}, min(value_min) AS min, max(value_max) AS max, sum(value_sum) AS sum,
  sum(value_count) AS count, argMaxMerge(value_last) AS last
FROM ${db}.${table} GROUP BY ${KEYS} ORDER BY ${KEYS}`)
}

/** The same tier read with FINAL, which merges at read time instead of GROUP BY. */
function fromTierFinal(db: string, table: string): Promise<Bucket[]> {
  return rows<Bucket>(`
SELECT ${KEYS}, value_min AS min, value_max AS max, value_sum AS sum, value_count AS count,
  finalizeAggregation(value_last) AS last
FROM ${db}.${table} FINAL ORDER BY ${KEYS}`)
}

/** Sums of the same values added in another order differ in the last bits. */
function expectSameBuckets(actual: Bucket[], expected: Bucket[]): void {
  expect(actual.map(({ sum: _, ...b }) => b)).toEqual(expected.map(({ sum: _, ...b }) => b))
  actual.forEach((b, i) => {
    expect(b.sum).toBeCloseTo(expected[i]?.sum ?? NaN, 6)
  })
}

async function expectTiersMatchRaw(db: string): Promise<void> {
  for (const tier of ROLLUP_TIERS) {
    const expected = await fromRaw(db, tier.seconds)
    expect(expected.length).toBeGreaterThan(0)
    expectSameBuckets(await fromTier(db, tier.table), expected)
    expectSameBuckets(await fromTierFinal(db, tier.table), expected)
  }
}

async function counts(db: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  const [raw] = await rows<{ n: string }>(`SELECT count() AS n FROM ${db}.metrics_raw`)
  out.metrics_raw = Number(raw?.n)
  for (const tier of ROLLUP_TIERS) {
    const [t] = await rows<{ n: string }>(`SELECT sum(value_count) AS n FROM ${db}.${tier.table}`)
    out[tier.table] = Number(t?.n)
  }
  return out
}

function everyTable(n: number): Record<string, number> {
  return Object.fromEntries(['metrics_raw', ...ROLLUP_TIERS.map((t) => t.table)].map((t) => [t, n]))
}

describe('ClickHouse rollup tiers', () => {
  it('migrates once, and a second run (or a re-run of every statement) changes nothing', async () => {
    const o = options()
    expect(await migrate(clickhouse, o)).toEqual([1, 2, 3, 4])
    const schema = (): Promise<unknown[]> =>
      rows(
        `SELECT name, engine, create_table_query FROM system.tables WHERE database = '${o.database}' ORDER BY name`,
      )
    const before = await schema()
    expect(await migrate(clickhouse, o)).toEqual([])
    // A process that died after a migration's statements but before recording it runs them again.
    for (const m of migrations(o)) for (const query of m.statements) await clickhouse.command({ query })
    expect(await schema()).toEqual(before)

    // The deduplication trap: a view's target without a window counts every replay again. (The key
    // tables are ReplacingMergeTree by version: a repeated write there is harmless by design.)
    const tables = await rows<{ name: string; create_table_query: string }>(
      `SELECT name, create_table_query FROM system.tables
       WHERE database = '${o.database}' AND engine LIKE '%MergeTree'
         AND name NOT IN ('schema_migrations', 'tenants', 'api_keys')`,
    )
    expect(tables.map((t) => t.name).sort()).toEqual(
      ['metrics_10s', 'metrics_1h', 'metrics_1m', 'metrics_raw', 'sample_log'].sort(),
    )
    for (const t of tables)
      expect(t.create_table_query).toContain('non_replicated_deduplication_window = 100')
    // Each tier keeps its own retention, partitioned to suit it, tenant first in the sort key.
    for (const tier of ROLLUP_TIERS) {
      const create = tables.find((t) => t.name === tier.table)?.create_table_query ?? ''
      expect(create).toContain(`PARTITION BY ${tier.partitionBy}`)
      expect(create).toContain('ORDER BY (tenant, metric, host, labels, bucket)')
      expect(create).toContain(`TTL bucket + toIntervalDay(${tier.ttlDays(o)})`)
    }
    expect(ROLLUP_TIERS.map((t) => t.ttlDays(o))).toEqual([30, 365, 1825])
    const views = await rows<{ name: string; as_select: string }>(
      `SELECT name, as_select FROM system.tables WHERE database = '${o.database}' AND engine = 'MaterializedView' ORDER BY name`,
    )
    expect(views.map((v) => v.name)).toEqual(['metrics_10s_mv', 'metrics_1h_mv', 'metrics_1m_mv'])
    // Each view reads raw itself: a late raw row reaches every tier by the same path.
    for (const v of views) expect(v.as_select).toContain(`FROM ${o.database}.metrics_raw`)
  })

  it('keeps min, max, sum, count and last per bucket equal to raw, with out-of-order and late rows', async () => {
    const o = options()
    await migrate(clickhouse, o)
    const random = prng(42)
    const all = seriesRows(random)
    const inOrder: RawRow[] = []
    const shuffled: RawRow[] = []
    const late: RawRow[] = []
    for (const r of all) {
      const p = random()
      ;(p < 0.5 ? inOrder : p < 0.8 ? shuffled : late).push(r)
    }
    await write(o.database, inOrder, 'chunk-1')
    await write(o.database, shuffle(shuffled, random), 'chunk-2')
    // Late rows arrive after later ones were stored, each in an insert of its own for some of them.
    shuffle(late, random)
    await write(o.database, late.slice(0, late.length - 5), 'chunk-3')
    for (const [i, r] of late.slice(late.length - 5).entries()) await write(o.database, [r], `late-${i}`)

    expect((await counts(o.database)).metrics_raw).toBe(all.length)
    await expectTiersMatchRaw(o.database)

    // A bucket's last is the value at its greatest ts, whatever order the rows came in.
    const bucketUs = lastMidnightUs() + 30_000_000
    const at = (offsetMs: number, value: number): RawRow => [
      'acme',
      'probe',
      'h9',
      '{}',
      microsToDateTime64(bucketUs + offsetMs * 1000),
      value,
    ]
    await write(o.database, [at(5000, 1)], 'probe-1')
    await write(o.database, [at(9000, 2)], 'probe-2')
    await write(o.database, [at(1000, 3)], 'probe-3')
    for (const tier of ROLLUP_TIERS) {
      const [b] = await rows<Bucket>(`
SELECT min(value_min) AS min, max(value_max) AS max, sum(value_count) AS count, argMaxMerge(value_last) AS last
FROM ${o.database}.${tier.table} WHERE metric = 'probe'`)
      expect(b).toMatchObject({ min: 1, max: 3, count: 3, last: 2 })
    }

    // After merges the stored rows are the merged answer, one per bucket.
    for (const tier of ROLLUP_TIERS)
      await clickhouse.command({ query: `OPTIMIZE TABLE ${o.database}.${tier.table} FINAL` })
    await expectTiersMatchRaw(o.database)
    for (const tier of ROLLUP_TIERS) {
      const [stored] = await rows<{ n: string }>(`SELECT count() AS n FROM ${o.database}.${tier.table}`)
      expect(Number(stored?.n)).toBe((await fromRaw(o.database, tier.seconds)).length)
    }
  })

  it('counts a block replayed with the same token once, in raw and in every tier', async () => {
    const o = options()
    await migrate(clickhouse, o)
    // Since 24.7 a dropped block still flows through the views and each target deduplicates on its
    // own, only when this setting is on (26.2+'s default, what chdb runs here).
    const name = 'deduplicate_blocks_in_dependent_materialized_views'
    const [s] = await rows<{ value: string }>(`SELECT value FROM system.settings WHERE name = '${name}'`)
    expect(s?.value).toBe(String(RAW_INSERT_SETTINGS[name]))
    const block = seriesRows(prng(7))
    for (let i = 0; i < 3; i++) await write(o.database, block, 'topic/0/100-199')
    expect(await counts(o.database)).toEqual(everyTable(block.length))
    await expectTiersMatchRaw(o.database)
  })

  it('counts the same rows again under another token: deduplication is by token, not content', async () => {
    const o = options()
    await migrate(clickhouse, o)
    const block = seriesRows(prng(7))
    await write(o.database, block, 'topic/0/100-199')
    await write(o.database, block, 'topic/0/200-299')
    await write(o.database, block, 'topic/0/200-299')
    expect(await counts(o.database)).toEqual(everyTable(2 * block.length))
    await expectTiersMatchRaw(o.database)
  })
})
