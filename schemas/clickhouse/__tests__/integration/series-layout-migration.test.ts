/**
 * Migration 6 on a store written by the layout before it: embedded ClickHouse migrated to version 4
 * only, rows written the way that release's processor wrote them (JSONCompactEachRow into
 * metrics_raw with RAW_INSERT_SETTINGS and a token per chunk, the views filling the old tiers), then
 * the full migration. Everything the old tables held must be in the new ones exactly once, under the
 * ids the processors now compute, read back through wideSql as readers read it; the old tables and
 * views must be gone; and a second run, a run after a crash at any step, and two runs at once must
 * leave the same rows. One chdb data directory for the file (chdb binds one per process), a fresh
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
import { microsToDateTime64 } from '../../rows.ts'
import { seriesId } from '../../../src/series-id.ts'
import {
  LEGACY_RAW_TABLE,
  MIGRATION_STEPS_TABLE,
  migrations,
  POINTS_TIERS,
  RAW_INSERT_SETTINGS,
  stagePrefix,
  type DdlOptions,
} from '../../ddl.ts'
import { migrate, type PartitionEvent } from '../../migrate.ts'
import { wideSql } from '../../wide.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'procstream-series-migration-'))
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
    database: `series_migration_${process.pid}_${++databases}`,
    // Long enough that no TTL removes a row of the test while it runs; expiry is played by hand.
    rawTtlDays: 3650,
    tier10sTtlDays: 3650,
    tier1mTtlDays: 3650,
    tier1hTtlDays: 3650,
    dedupWindow: 100,
  }
}

async function rows<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await clickhouse.query({ query, query_params: params, format: 'JSONEachRow' })
  return rs.json<T>()
}

async function count(query: string, params: Record<string, unknown> = {}): Promise<number> {
  const [r] = await rows<{ n: string }>(query, params)
  return Number(r?.n)
}

type OldRow = [tenant: string, metric: string, host: string, labels: string, ts: string, value: number]

/** As the processor of the release before wrote a chunk: one insert, the chunk's token, the views' settings. */
async function writeOld(db: string, chunk: OldRow[], token: string): Promise<void> {
  await clickhouse.insert({
    table: `${db}.metrics_raw`,
    values: chunk,
    format: 'JSONCompactEachRow',
    clickhouse_settings: { ...RAW_INSERT_SETTINGS, insert_deduplication_token: token, insert_deduplicate: 1 },
  })
}

const DAY_US = 86_400_000_000
const midnightUs = Math.floor(Date.now() / 86_400_000) * DAY_US

const SERIES = [
  ['acme', 'node_load1', 'h1', '{}'],
  ['acme', 'node_load1', 'h2', '{}'],
  ['acme', 'node_cpu_seconds_total', 'h1', '{"cpu":"0","mode":"user"}'],
  ['acme', 'node_cpu_seconds_total', 'h1', '{"cpu":"1","mode":"user"}'],
  ['acme', 'node_network_receive_bytes_total', 'h3', '{"device":"eth0"}'],
  ['globex', 'node_load1', 'h1', '{}'],
  ['globex', 'node_cpu_seconds_total', 'h1', '{"cpu":"0","mode":"user"}'],
] as const

/**
 * Values every ~1.5 s per series from 23:00 two days ago to 01:00 yesterday, so they cross a UTC
 * midnight (two daily partitions of raw and of the 10 s tier). Values are multiples of 1/4 so every
 * sum is exact whatever order it is added in.
 */
function oldRows(random: () => number): OldRow[] {
  const start = midnightUs - DAY_US - 3_600_000_000
  const out: OldRow[] = []
  for (const [tenant, metric, host, labels] of SERIES) {
    let value = Math.floor(random() * 400) / 4
    for (let us = start + Math.floor(random() * 1_000_000); us < start + 7_200_000_000;) {
      value += Math.floor(random() * 20 - 6) / 4
      out.push([tenant, metric, host, labels, microsToDateTime64(us), value])
      us += 1_000_000 + Math.floor(random() * 1_000_000)
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

/**
 * A store as the release before left it: rows in order and shuffled, late rows (some for the older
 * day after the newer day's rows), identical rows under two tokens (both kept: deduplication is by
 * token), a replay (dropped), and a series whose raw rows TTL already dropped, 40 days ago, so only
 * the tiers hold it.
 */
async function oldStore(o: DdlOptions): Promise<void> {
  expect(await migrate(clickhouse, o, { upTo: 4 })).toEqual([1, 2, 3, 4])
  const db = o.database
  const random = prng(6)
  const all = oldRows(random)
  const inOrder: OldRow[] = []
  const shuffled: OldRow[] = []
  const late: OldRow[] = []
  for (const r of all) {
    const p = random()
    ;(p < 0.6 ? inOrder : p < 0.85 ? shuffled : late).push(r)
  }
  await writeOld(db, inOrder, 'topic/0/0-99')
  await writeOld(db, shuffle(shuffled, random), 'topic/1/0-99')
  await writeOld(db, inOrder, 'topic/0/0-99')
  await writeOld(db, late.slice(0, 50), 'topic/1/100-199')
  await writeOld(db, late.slice(0, 50), 'topic/1/200-299')
  for (const [i, r] of late.slice(50, 60).entries()) await writeOld(db, [r], `topic/2/${i}-${i}`)
  await writeOld(db, late.slice(60), 'topic/2/10-999')

  const oldDayUs = midnightUs - 40 * DAY_US + 12 * 3_600_000_000
  const expired: OldRow[] = []
  for (let i = 0; i < 200; i++)
    expired.push([
      'acme',
      'node_boot_time_seconds',
      'h4',
      '{}',
      microsToDateTime64(oldDayUs + i * 7_000_000),
      1e9,
    ])
  await writeOld(db, expired, 'topic/3/0-199')
  const [day] = await rows<{ p: string }>(
    `SELECT DISTINCT _partition_id AS p FROM ${db}.metrics_raw WHERE metric = 'node_boot_time_seconds'`,
  )
  await clickhouse.command({ query: `ALTER TABLE ${db}.metrics_raw DROP PARTITION ID '${day?.p}'` })
  // The sample log, which the migration leaves as it is (but for the column migration 5 adds).
  await clickhouse.insert({
    table: `${db}.sample_log`,
    values: [
      ['acme', 'h1', 'h1.example', 'agent-1', 1, 'load', microsToDateTime64(midnightUs - DAY_US), 3, 0, '41'],
      [
        'globex',
        'h1',
        'h1.example',
        'agent-2',
        7,
        'cpu',
        microsToDateTime64(midnightUs - DAY_US),
        2,
        1,
        '42',
      ],
    ],
    format: 'JSONCompactEachRow',
    clickhouse_settings: {
      ...RAW_INSERT_SETTINGS,
      insert_deduplication_token: 'topic/0/41-42',
      insert_deduplicate: 1,
    },
  })
}

interface Tier {
  key: string
  bucket: string
  min: number
  max: number
  sum: number
  count: string
  last: number
}

/** Everything the old tables hold, keyed the way the new ones are (tenant and series id). */
async function oldSnapshot(db: string): Promise<{
  points: string[]
  tiers: Record<string, Tier[]>
  series: string[]
  wide: string[]
  wideTiers: Record<string, string[]>
}> {
  const raw = await rows<{
    tenant: string
    metric: string
    host: string
    labels: string
    ts: string
    value: number
  }>(`SELECT tenant, metric, host, labels, toString(ts) AS ts, value FROM ${db}.metrics_raw`)
  const id = (r: { tenant: string; metric: string; host: string; labels: string }): string =>
    seriesId(r.tenant, r.metric, r.host, r.labels).toString()
  const tiers: Record<string, Tier[]> = {}
  const wideTiers: Record<string, string[]> = {}
  for (const { table, legacy } of POINTS_TIERS) {
    const old = await rows<
      Omit<Tier, 'key'> & { tenant: string; metric: string; host: string; labels: string }
    >(
      `SELECT tenant, metric, host, labels, toString(bucket) AS bucket, value_min AS min, value_max AS max,
         value_sum AS sum, toString(value_count) AS count, finalizeAggregation(value_last) AS last
       FROM ${db}.${legacy} FINAL`,
    )
    tiers[table] = old
      .map(({ tenant, metric, host, labels, ...t }) => ({
        key: `${tenant} ${id({ tenant, metric, host, labels })}`,
        ...t,
      }))
      .sort(byJson)
    wideTiers[table] = old.map((t) => JSON.stringify(t)).sort()
  }
  const series = await rows<{ tenant: string; metric: string; host: string; labels: string; day: string }>(
    `SELECT DISTINCT tenant, metric, host, labels, day FROM (
       SELECT tenant, metric, host, labels, toDate(ts) AS day FROM ${db}.metrics_raw
       UNION ALL SELECT tenant, metric, host, labels, toDate(bucket) FROM ${db}.metrics_10s
       UNION ALL SELECT tenant, metric, host, labels, toDate(bucket) FROM ${db}.metrics_1m
       UNION ALL SELECT tenant, metric, host, labels, toDate(bucket) FROM ${db}.metrics_1h)`,
  )
  return {
    points: raw.map((r) => JSON.stringify([r.tenant, id(r), r.ts, r.value])).sort(),
    tiers,
    series: series.map((s) => JSON.stringify([s.tenant, s.metric, s.host, s.labels, id(s), s.day])).sort(),
    wide: raw.map((r) => JSON.stringify(r)).sort(),
    wideTiers,
  }
}

function byJson(a: unknown, b: unknown): number {
  const x = JSON.stringify(a)
  const y = JSON.stringify(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** What the new tables hold, in the shapes of oldSnapshot. */
async function newSnapshot(db: string): Promise<Awaited<ReturnType<typeof oldSnapshot>>> {
  const points = await rows<{ tenant: string; id: string; ts: string; value: number }>(
    `SELECT tenant, toString(series_id) AS id, toString(ts) AS ts, value FROM ${db}.points`,
  )
  const tiers: Record<string, Tier[]> = {}
  const wideTiers: Record<string, string[]> = {}
  const tenants = ['acme', 'globex']
  for (const { table } of POINTS_TIERS) {
    const stored = await rows<Omit<Tier, 'key'> & { tenant: string; id: string }>(
      `SELECT tenant, toString(series_id) AS id, toString(bucket) AS bucket, value_min AS min, value_max AS max,
         value_sum AS sum, toString(value_count) AS count, finalizeAggregation(value_last) AS last
       FROM ${db}.${table} FINAL`,
    )
    tiers[table] = stored.map(({ tenant, id, ...t }) => ({ key: `${tenant} ${id}`, ...t })).sort(byJson)
    wideTiers[table] = []
    for (const tenant of tenants) {
      const wide = await rows<Record<string, unknown>>(
        `SELECT tenant, metric, host, labels, toString(bucket) AS bucket, value_min AS min, value_max AS max,
           value_sum AS sum, toString(value_count) AS count, finalizeAggregation(value_last) AS last
         FROM (${wideSql({ database: db, source: table, seriesWhere: 'tenant = {tenant:String}', tenant: '{tenant:String}', final: true })})`,
        { tenant },
      )
      wideTiers[table].push(...wide.map((t) => JSON.stringify(t)))
    }
    wideTiers[table].sort()
  }
  const series = await rows<Record<string, string>>(
    `SELECT tenant, metric, host, labels, toString(series_id) AS id, toString(day) AS day FROM ${db}.series`,
  )
  const wide: string[] = []
  for (const tenant of tenants) {
    const read = await rows<Record<string, unknown>>(
      `SELECT tenant, metric, host, labels, toString(ts) AS ts, value
       FROM (${wideSql({ database: db, source: 'points', seriesWhere: 'tenant = {tenant:String}', tenant: '{tenant:String}' })})`,
      { tenant },
    )
    wide.push(...read.map((r) => JSON.stringify(r)))
  }
  return {
    points: points.map((p) => JSON.stringify([p.tenant, p.id, p.ts, p.value])).sort(),
    tiers,
    series: series.map((s) => JSON.stringify([s.tenant, s.metric, s.host, s.labels, s.id, s.day])).sort(),
    wide: wide.sort(),
    wideTiers,
  }
}

async function tableNames(db: string): Promise<string[]> {
  const t = await rows<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name`,
    { db },
  )
  return t.map((x) => x.name)
}

const NEW_LAYOUT_TABLES = [
  'api_keys',
  'points',
  'points_10s',
  'points_10s_mv',
  'points_1h',
  'points_1h_mv',
  'points_1m',
  'points_1m_mv',
  'points_tier_feed',
  'sample_log',
  MIGRATION_STEPS_TABLE,
  'schema_migrations',
  'series',
  'tenants',
]

/** What every run of the migration must leave: exactly the old rows, in the new tables, and nothing old. */
async function expectMigrated(db: string, expected: Awaited<ReturnType<typeof oldSnapshot>>): Promise<void> {
  const now = await newSnapshot(db)
  expect(now.points.length).toBe(expected.points.length)
  expect(now.points).toEqual(expected.points)
  for (const { table } of POINTS_TIERS) expect(now.tiers[table], table).toEqual(expected.tiers[table])
  // One row per series and day, not merely one after FINAL: each month was put in place once.
  expect(now.series).toEqual(expected.series)
  expect(now.wide).toEqual(expected.wide)
  for (const { table } of POINTS_TIERS) expect(now.wideTiers[table], table).toEqual(expected.wideTiers[table])
  expect(await tableNames(db)).toEqual(NEW_LAYOUT_TABLES)
}

describe('migration 6: a store of the layout before it, copied into the series-id layout', () => {
  it('copies every raw row, tier row and series exactly once under the processors’ ids, then drops the old tables', async () => {
    const o = options()
    const db = o.database
    await oldStore(o)
    const expected = await oldSnapshot(db)
    // The store is what the test says it is: two raw days, a replay dropped, the copies under two
    // tokens kept, the expired series in the tiers only.
    expect(expected.points.length).toBeGreaterThan(8_000)
    expect(
      await rows(
        `SELECT toYYYYMMDD(ts) AS day, count() > 0 AS some FROM ${db}.metrics_raw GROUP BY day ORDER BY day`,
      ),
    ).toHaveLength(2)
    expect(
      await count(`SELECT count() AS n FROM ${db}.metrics_raw WHERE metric = 'node_boot_time_seconds'`),
    ).toBe(0)
    expect(
      await count(
        `SELECT sum(value_count) AS n FROM ${db}.metrics_1h WHERE metric = 'node_boot_time_seconds'`,
      ),
    ).toBe(200)
    const logBefore = await rows(`SELECT * FROM ${db}.sample_log ORDER BY ALL`)
    expect(logBefore).toHaveLength(2)

    const events: PartitionEvent[] = []
    expect(await migrate(clickhouse, o, { onPartition: (e) => void events.push(e) })).toEqual([5, 6])
    await expectMigrated(db, expected)
    expect(await rows(`SELECT * EXCEPT kafka_topic FROM ${db}.sample_log ORDER BY ALL`)).toEqual(logBefore)

    // Every partition is recorded with the rows put in place, and they add up to the tables.
    const steps = await rows<{ step: string; rows: string }>(
      `SELECT step, toString(rows) AS rows FROM ${db}.${MIGRATION_STEPS_TABLE} FINAL WHERE version = 6 ORDER BY step`,
    )
    expect(steps.map((s) => s.step)).toEqual(
      events
        .filter((e) => e.phase === 'recorded')
        .map((e) => e.step)
        .sort(),
    )
    for (const target of ['points', 'points_10s', 'points_1m', 'points_1h', 'series']) {
      const recorded = steps
        .filter((s) => s.step.startsWith(`${target}/`))
        .reduce((n, s) => n + Number(s.rows), 0)
      expect(recorded, target).toBe(await count(`SELECT count() AS n FROM ${db}.${target}`))
    }
    // Raw's two days, the 10 s tier's three (one of them 40 days back), series by month.
    expect(steps.filter((s) => s.step.startsWith('points/'))).toHaveLength(2)
    expect(steps.filter((s) => s.step.startsWith('points_10s/'))).toHaveLength(3)

    // A series whose raw rows had expired keeps its days through the tiers.
    const bootDays = await rows<{ day: string }>(
      `SELECT DISTINCT toString(day) AS day FROM ${db}.series WHERE metric = 'node_boot_time_seconds'`,
    )
    expect(bootDays).toHaveLength(1)

    // Nothing left to write the old way: the table the old processor inserted into is gone.
    await expect(
      writeOld(db, [['acme', 'node_load1', 'h1', '{}', microsToDateTime64(midnightUs), 1]], 'late'),
    ).rejects.toThrow(/UNKNOWN_TABLE|doesn't exist|does not exist/)

    // A point written now by the new processor's sink lands on the same series as the copied ones.
    const before = await count(
      `SELECT count() AS n FROM (${wideSql({ database: db, source: 'points', seriesWhere: "tenant = 'acme' AND metric = 'node_load1' AND host = 'h1'", tenant: "'acme'" })})`,
    )
    await new ClickHouseSink(clickhouse, db).write(
      batchOf([['acme', 'node_load1', 'h1', '{}', midnightUs + 1_000_000, 0.5]]),
      'topic/0/500-500',
    )
    const after = await rows<{ n: string; ids: string }>(
      `SELECT count() AS n, toString(uniqExact(series_id)) AS ids FROM ${db}.points
       WHERE series_id = ${seriesId('acme', 'node_load1', 'h1', '{}').toString()}`,
    )
    expect(Number(after[0]?.n)).toBe(before + 1)
    expect(after[0]?.ids).toBe('1')
  })

  it('changes nothing when run again, or when its statements run again after it', async () => {
    const o = options()
    const db = o.database
    await oldStore(o)
    const expected = await oldSnapshot(db)
    expect(await migrate(clickhouse, o)).toEqual([5, 6])
    const steps = await count(`SELECT count() AS n FROM ${db}.${MIGRATION_STEPS_TABLE}`)
    expect(await migrate(clickhouse, o)).toEqual([])
    // A process that read the applied versions before another recorded 6 runs every step again.
    const six = migrations(o).find((m) => m.version === 6)
    for (const query of six?.statements ?? []) await clickhouse.command({ query })
    for (const query of six?.copies?.afterwards ?? []) await clickhouse.command({ query })
    await expectMigrated(db, expected)
    expect(await count(`SELECT count() AS n FROM ${db}.${MIGRATION_STEPS_TABLE}`)).toBe(steps)
  })

  it('ends with one copy of every row after a crash at any point, and resumes where it stopped', async () => {
    const o = options()
    const db = o.database
    await oldStore(o)
    const expected = await oldSnapshot(db)

    // Only the fence ran (the statements before the copies): the old tables are renamed and
    // unfed, and an insert the old way is refused instead of landing behind the copy.
    await migrate(clickhouse, o, { upTo: 5 })
    for (const query of migrations(o).find((m) => m.version === 6)?.statements ?? [])
      await clickhouse.command({ query })
    await expect(
      writeOld(db, [['acme', 'node_load1', 'h1', '{}', microsToDateTime64(midnightUs), 1]], 'x'),
    ).rejects.toThrow(/UNKNOWN_TABLE|doesn't exist|does not exist/)
    expect(await tableNames(db)).toContain(LEGACY_RAW_TABLE)

    // Dies after swapping in a partition but before recording it, then after filling a staging
    // table, each time further on; a crashed process's staging table is left behind as well.
    const crashAt = async (phase: PartitionEvent['phase'], nth: number): Promise<string[]> => {
      const seen: string[] = []
      let n = 0
      await expect(
        migrate(clickhouse, o, {
          onPartition: (e) => {
            if (e.phase === 'recorded') seen.push(e.step)
            if (e.phase === phase && ++n === nth) throw new Error(`crash at ${e.step}`)
          },
        }),
      ).rejects.toThrow(/crash at/)
      return seen
    }
    expect(await crashAt('replaced', 2)).toEqual(['points/' + (await firstRawDay(db))])
    const resumed = await crashAt('staged', 3)
    // The second run does not copy the recorded partition again.
    expect(resumed[0]).not.toBe(`points/${await firstRawDay(db)}`)
    await clickhouse.command({
      query: `CREATE TABLE ${db}.${stagePrefix(6)}points_20000101_dead AS ${db}.points`,
    })
    await clickhouse.command({
      query: `INSERT INTO ${db}.${stagePrefix(6)}points_20000101_dead SELECT * FROM ${db}.points LIMIT 10`,
    })
    await crashAt('recorded', 4)

    expect(await migrate(clickhouse, o)).toEqual([6])
    await expectMigrated(db, expected)
    expect(await migrate(clickhouse, o)).toEqual([])
  })

  it('is run by two processes at once with the same result', async () => {
    const o = options()
    const db = o.database
    await oldStore(o)
    const expected = await oldSnapshot(db)
    const [a, b] = await Promise.all([migrate(clickhouse, o), migrate(clickhouse, o)])
    // Each applied what it found missing; 6 is applied once by one of them or recorded by both.
    expect([...a, ...b].filter((v) => v === 6).length).toBeGreaterThanOrEqual(1)
    await expectMigrated(db, expected)
  })

  it('costs a fresh installation next to nothing: nothing to copy, the old tables created and dropped', async () => {
    const o = options()
    const started = performance.now()
    expect(await migrate(clickhouse, o)).toEqual([1, 2, 3, 4, 5, 6])
    const ms = performance.now() - started
    expect(await tableNames(o.database)).toEqual(NEW_LAYOUT_TABLES)
    expect(await count(`SELECT count() AS n FROM ${o.database}.${MIGRATION_STEPS_TABLE}`)).toBe(0)
    expect(ms).toBeLessThan(5_000)
  })
})

async function firstRawDay(db: string): Promise<string> {
  const [s] = await rows<{ step: string }>(
    `SELECT step FROM ${db}.${MIGRATION_STEPS_TABLE} FINAL WHERE startsWith(step, 'points/') ORDER BY step LIMIT 1`,
  )
  return (s?.step ?? '').replace('points/', '')
}
