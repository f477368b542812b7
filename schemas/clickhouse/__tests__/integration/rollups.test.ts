/**
 * The rollup tiers of the series-id layout against embedded ClickHouse: rows written by the
 * processor's own sink (same settings, same tokens: series, points and the tier feed, the Null table
 * the tiers' views hang on), and every tier checked against the same aggregates computed from the
 * stored points. One chdb data directory for the file (chdb binds one per process), a fresh
 * database per test.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse, readClickHouseConfig } from '#platform/clickhouse.ts'
import { ConfigReader } from '#platform/config.ts'
import { prng } from '#platform/prng.ts'
import { ClickHouseSink, batchOf } from '#test/support/store-rows.ts'
import { microsToDateTime64, type WidePoint } from '../../rows.ts'
import { seriesId } from '../../../src/series-id.ts'
import { migrations, POINTS_TIERS, TIER_FEED_TABLE, type DdlOptions } from '../../ddl.ts'
import { migrate } from '../../migrate.ts'

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

/** A chunk as the processor stores it: series, points and the tier feed, all under the chunk's token. */
async function write(db: string, points: WidePoint[], token: string): Promise<void> {
  await new ClickHouseSink(clickhouse, db).write(batchOf(points), token)
}

/**
 * 90 s before the last UTC midnight: a 3-minute range then crosses a day, an hour, several minutes
 * and many 10 s buckets, so one insert lands in two daily partitions of points and points_10s
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

/** One value per series every ~1.3 s over 3 minutes, each (series, ts) unique so `last` has no ties. */
function seriesPoints(random: () => number): WidePoint[] {
  const start = rangeStartUs()
  const out: WidePoint[] = []
  for (const [tenant, metric, host, labels] of SERIES) {
    let value = random() * 100
    for (let us = start + Math.floor(random() * 1_000_000); us < start + 180_000_000;) {
      value += (random() - 0.3) * 5
      out.push([tenant, metric, host, labels, us, Math.round(value * 100) / 100])
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
  series: string
  bucket: string
  min: number
  max: number
  sum: number
  count: number
  last: number
}

const KEYS = 'tenant, series_id, bucket'
const SERIES_COLUMN = 'toString(series_id) AS series'

/** What each tier should hold, computed from the stored points. */
function fromPoints(db: string, seconds: number): Promise<Bucket[]> {
  return rows<Bucket>(`
SELECT tenant, ${SERIES_COLUMN}, toStartOfInterval(ts, INTERVAL ${seconds} SECOND) AS bucket,
  min(value) AS min, max(value) AS max, sum(value) AS sum, count() AS count, argMax(value, ts) AS last
FROM ${db}.points GROUP BY ${KEYS} ORDER BY ${KEYS}`)
}

/** A tier read as a reader would: merging the parts not yet merged, with the columns' own functions. */
function fromTier(db: string, table: string): Promise<Bucket[]> {
  return rows<Bucket>(`
SELECT tenant, ${SERIES_COLUMN}, bucket, min(value_min) AS min, max(value_max) AS max, sum(value_sum) AS sum,
  sum(value_count) AS count, argMaxMerge(value_last) AS last
FROM ${db}.${table} GROUP BY ${KEYS} ORDER BY ${KEYS}`)
}

/** The same tier read with FINAL, which merges at read time instead of GROUP BY. */
function fromTierFinal(db: string, table: string): Promise<Bucket[]> {
  return rows<Bucket>(`
SELECT tenant, ${SERIES_COLUMN}, bucket, value_min AS min, value_max AS max, value_sum AS sum, value_count AS count,
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

async function expectTiersMatchPoints(db: string): Promise<void> {
  for (const { table, tier } of POINTS_TIERS) {
    const expected = await fromPoints(db, tier.seconds)
    expect(expected.length).toBeGreaterThan(0)
    expectSameBuckets(await fromTier(db, table), expected)
    expectSameBuckets(await fromTierFinal(db, table), expected)
  }
}

async function counts(db: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  const [raw] = await rows<{ n: string }>(`SELECT count() AS n FROM ${db}.points`)
  out.points = Number(raw?.n)
  for (const { table } of POINTS_TIERS) {
    const [t] = await rows<{ n: string }>(`SELECT sum(value_count) AS n FROM ${db}.${table}`)
    out[table] = Number(t?.n)
  }
  return out
}

function everyTable(n: number): Record<string, number> {
  return Object.fromEntries(['points', ...POINTS_TIERS.map((t) => t.table)].map((t) => [t, n]))
}

describe('ClickHouse rollup tiers', () => {
  it('migrates once, and a second run (or a re-run of every statement) changes nothing', async () => {
    const o = options()
    expect(await migrate(clickhouse, o)).toEqual([1, 2, 3, 4, 5, 6])
    const schema = (): Promise<unknown[]> =>
      rows(
        `SELECT name, engine, create_table_query FROM system.tables WHERE database = '${o.database}' ORDER BY name`,
      )
    const before = await schema()
    expect(await migrate(clickhouse, o)).toEqual([])
    // A process that died after a migration's statements but before recording it runs them again
    // (migration 6's copies find nothing left to copy; what follows them drops only what is gone).
    for (const m of migrations(o))
      for (const query of [...m.statements, ...(m.copies?.afterwards ?? [])])
        await clickhouse.command({ query })
    expect(await schema()).toEqual(before)

    // The deduplication trap: a view's target without a window counts every replay again. (The key
    // tables are ReplacingMergeTree by version, the series table folds repeats of a key: a repeated
    // write there is harmless by design.)
    const tables = await rows<{ name: string; create_table_query: string }>(
      `SELECT name, create_table_query FROM system.tables
       WHERE database = '${o.database}' AND engine LIKE '%MergeTree'
         AND name NOT IN ('schema_migrations', 'schema_migration_steps', 'tenants', 'api_keys', 'series')`,
    )
    expect(tables.map((t) => t.name).sort()).toEqual(
      ['points', 'points_10s', 'points_1h', 'points_1m', 'sample_log'].sort(),
    )
    for (const t of tables)
      expect(t.create_table_query).toContain('non_replicated_deduplication_window = 100')
    // Each tier keeps its own retention, partitioned to suit it, keyed by series id.
    for (const { table, tier } of POINTS_TIERS) {
      const create = tables.find((t) => t.name === table)?.create_table_query ?? ''
      expect(create).toContain(`PARTITION BY ${tier.partitionBy}`)
      expect(create).toContain('ORDER BY (series_id, bucket, tenant)')
      expect(create).toContain(`TTL bucket + toIntervalDay(${tier.ttlDays(o)})`)
    }
    expect(POINTS_TIERS.map((t) => t.tier.ttlDays(o))).toEqual([30, 365, 1825])
    const views = await rows<{ name: string; as_select: string }>(
      `SELECT name, as_select FROM system.tables WHERE database = '${o.database}' AND engine = 'MaterializedView' ORDER BY name`,
    )
    expect(views.map((v) => v.name)).toEqual(['points_10s_mv', 'points_1h_mv', 'points_1m_mv'])
    // Each view reads the tier feed itself: a late or replayed value reaches every tier by the same path.
    for (const v of views) expect(v.as_select).toContain(`FROM ${o.database}.${TIER_FEED_TABLE}`)
    const [feed] = await rows<{ engine: string }>(
      `SELECT engine FROM system.tables WHERE database = '${o.database}' AND name = '${TIER_FEED_TABLE}'`,
    )
    expect(feed?.engine).toBe('Null')
  })

  it('keeps min, max, sum, count and last per bucket equal to the points, with out-of-order and late values', async () => {
    const o = options()
    await migrate(clickhouse, o)
    const random = prng(42)
    const all = seriesPoints(random)
    const inOrder: WidePoint[] = []
    const shuffled: WidePoint[] = []
    const late: WidePoint[] = []
    for (const r of all) {
      const p = random()
      ;(p < 0.5 ? inOrder : p < 0.8 ? shuffled : late).push(r)
    }
    await write(o.database, inOrder, 'chunk-1')
    await write(o.database, shuffle(shuffled, random), 'chunk-2')
    // Late values arrive after later ones were stored, each in an insert of its own for some of them.
    shuffle(late, random)
    await write(o.database, late.slice(0, late.length - 5), 'chunk-3')
    for (const [i, r] of late.slice(late.length - 5).entries()) await write(o.database, [r], `late-${i}`)

    expect((await counts(o.database)).points).toBe(all.length)
    await expectTiersMatchPoints(o.database)

    // A bucket's last is the value at its greatest ts, whatever order the values came in.
    const bucketUs = lastMidnightUs() + 30_000_000
    const at = (offsetMs: number, value: number): WidePoint => [
      'acme',
      'probe',
      'h9',
      '{}',
      bucketUs + offsetMs * 1000,
      value,
    ]
    await write(o.database, [at(5000, 1)], 'probe-1')
    await write(o.database, [at(9000, 2)], 'probe-2')
    await write(o.database, [at(1000, 3)], 'probe-3')
    const probe = seriesId('acme', 'probe', 'h9', '{}').toString()
    for (const { table } of POINTS_TIERS) {
      const [b] = await rows<Bucket>(`
SELECT min(value_min) AS min, max(value_max) AS max, sum(value_count) AS count, argMaxMerge(value_last) AS last
FROM ${o.database}.${table} WHERE series_id = ${probe} AND tenant = 'acme'`)
      expect(b).toMatchObject({ min: 1, max: 3, count: 3, last: 2 })
    }

    // After merges the stored rows are the merged answer, one per bucket.
    for (const { table } of POINTS_TIERS)
      await clickhouse.command({ query: `OPTIMIZE TABLE ${o.database}.${table} FINAL` })
    await expectTiersMatchPoints(o.database)
    for (const { table, tier } of POINTS_TIERS) {
      const [stored] = await rows<{ n: string }>(`SELECT count() AS n FROM ${o.database}.${table}`)
      expect(Number(stored?.n)).toBe((await fromPoints(o.database, tier.seconds)).length)
    }
  })

  it('counts a block replayed with the same token once, in the points and in every tier', async () => {
    const o = options()
    await migrate(clickhouse, o)
    // The Null table stores nothing, so it has nothing to deduplicate: a replay flows through the
    // views and each tier drops it by the token on its own, only with this setting on (26.2+'s
    // default, what chdb runs here, and what the sink sets).
    const name = 'deduplicate_blocks_in_dependent_materialized_views'
    const [s] = await rows<{ value: string }>(`SELECT value FROM system.settings WHERE name = '${name}'`)
    expect(s?.value).toBe('1')
    const block = seriesPoints(prng(7))
    for (let i = 0; i < 3; i++) await write(o.database, block, 'topic/0/100-199')
    expect(await counts(o.database)).toEqual(everyTable(block.length))
    await expectTiersMatchPoints(o.database)

    // The same through the tier feed alone, as the tier feeder writes it: each tier once.
    const feed = `INSERT INTO ${o.database}.${TIER_FEED_TABLE} (tenant, series_id, ts, value)
SETTINGS insert_deduplication_token = 'tiers/0/100-199', deduplicate_blocks_in_dependent_materialized_views = 1
FORMAT JSONCompactEachRow`
    const values = block
      .map(([tenant, metric, host, labels, us, value]) =>
        JSON.stringify([
          tenant,
          seriesId(tenant, metric, host, labels).toString(),
          microsToDateTime64(us),
          value,
        ]),
      )
      .join('\n')
    for (let i = 0; i < 3; i++) await clickhouse.command({ query: `${feed}\n${values}` })
    expect(await counts(o.database)).toEqual({ ...everyTable(2 * block.length), points: block.length })
  })

  it('counts the same rows again under another token: deduplication is by token, not content', async () => {
    const o = options()
    await migrate(clickhouse, o)
    const block = seriesPoints(prng(7))
    await write(o.database, block, 'topic/0/100-199')
    await write(o.database, block, 'topic/0/200-299')
    await write(o.database, block, 'topic/0/200-299')
    expect(await counts(o.database)).toEqual(everyTable(2 * block.length))
    await expectTiersMatchPoints(o.database)
  })
})
