/**
 * The sink's insert paths: the same batches through Arrow (the product's path into embedded chdb),
 * through RowBinary over HTTP (its path to a server, here the storage server of `npm run storage` on
 * a store of its own) and through the JSON fallback must leave the same rows in every table (series,
 * points, every tier, the sample log); a replayed token must change nothing anywhere, and the series
 * rows are written once per series and day, not once per value.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { createLogger } from '#platform/logger.ts'
import { createClickHouse } from '#platform/clickhouse.ts'
import { ChdbExecutor, buildStorageServer } from '#test/support/components/storage.ts'
import { columnarInserter } from '#platform/clickhouse.ts'
import { JsonInserter, type ColumnarInserter } from '#platform/columnar-insert.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'
import { seriesId } from '#schemas/src/series-id.ts'
import { ClickHouseSink } from '../../src/clickhouse-sink.ts'
import { addPoint, newRowBatch, SeriesRegistry, type RowBatch } from '../../src/rows.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'

const DB = 'sinkpaths'
const OTHER = 'sinkpaths_json'
const DAY_US = 86_400_000_000
/** 2026-03-01T23:59:30Z: a minute that crosses a UTC day. */
const T0 = 1_772_409_570_000_000

let db: EmbeddedClickHouse
let clickhouse: ClickHouseClient
let arrow: ColumnarInserter
/** The storage server over the same store (chdb opens one folder per process), written in RowBinary. */
const SERVED = 'sinkpaths_rb'
const spoolDir = mkdtempSync(join(tmpdir(), 'procstream-sinkpaths-spool-'))
let executor: ChdbExecutor
let app: FastifyInstance
let server: ClickHouseClient
const DDL = {
  rawTtlDays: 3650,
  tier10sTtlDays: 3650,
  tier1mTtlDays: 3650,
  tier1hTtlDays: 3650,
  dedupWindow: 100,
}

beforeAll(async () => {
  db = await openEmbeddedClickHouse(DB)
  clickhouse = db.clickhouse
  await migrate(clickhouse, { database: OTHER, ...DDL })
  executor = new ChdbExecutor(db.path, { spoolParent: spoolDir })
  app = buildStorageServer({
    executor,
    credentials: { user: 'default', password: 'sink-paths-secret' },
    maxBodyBytes: 64 * 1024 * 1024,
    loopbackOnly: true,
    logger: createLogger('sink-paths-storage', { level: 'silent' }),
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  server = await createClickHouse({
    url: `http://127.0.0.1:${String(address.port)}`,
    user: 'default',
    password: 'sink-paths-secret',
    database: SERVED,
    embeddedPath: '',
  })
  await migrate(server, { database: SERVED, ...DDL })
  // The inserter the client of an embedded store comes with: Arrow, on sessions of its own.
  arrow = await columnarInserter(clickhouse)
})

afterAll(async () => {
  await server.close()
  await app.close()
  executor.close()
  rmSync(spoolDir, { recursive: true, force: true })
  await db.close()
})

/** Two minutes of three hosts of two tenants, 4 series each, at 1 s, crossing midnight; values with every byte pattern. */
function batches(registry: SeriesRegistry): RowBatch[] {
  const out: RowBatch[] = []
  for (let chunk = 0; chunk < 4; chunk++) {
    const b = newRowBatch(registry)
    for (let s = chunk * 30; s < (chunk + 1) * 30; s++) {
      for (const [tenant, host] of [
        ['acme', 'web-1'],
        ['acme', 'web-2'],
        ['globex', 'web-1'],
      ] as const) {
        for (let k = 0; k < 4; k++) {
          addPoint(b, {
            tenant,
            metric: k < 2 ? 'node_cpu_seconds_total' : k === 2 ? 'node_load1' : 'node_load5',
            host,
            labels: k < 2 ? `{"cpu":"${String(k)}","mode":"idle"}` : '{}',
            tsUs: T0 + s * 1_000_000 + 1234,
            // 0x0a0a… patterns and non-integers, as a binary path must carry any bytes.
            value: k === 3 ? 2.2250738585072014e-308 * (s + 1) : s * 1.1 + k + 0x0a0a / 7,
          })
        }
      }
    }
    b.log.push([
      'acme',
      'web-1',
      'web-1.example',
      'agent-1',
      chunk,
      'cpu',
      `${String((T0 + chunk * 30_000_000) / 1_000_000)}.001234`,
      120,
      0,
      String(chunk * 10),
      'procstream.samples',
    ])
    out.push(b)
  }
  return out
}

async function rows(database: string, query: string, on: ClickHouseClient = clickhouse): Promise<unknown[]> {
  const rs = await on.query({
    query: query.replaceAll('$db', database),
    format: 'JSONCompactEachRow',
  })
  return rs.json()
}

const DUMPS = {
  series: 'SELECT tenant, metric, host, labels, toString(series_id), day FROM $db.series FINAL ORDER BY ALL',
  points: 'SELECT tenant, toString(series_id), toString(ts), value FROM $db.points ORDER BY ALL',
  tiers: `SELECT t, tenant, toString(series_id), bucket, value_min, value_max, value_sum, value_count, finalizeAggregation(value_last) FROM (
      SELECT '10s' AS t, * FROM $db.points_10s FINAL UNION ALL SELECT '1m', * FROM $db.points_1m FINAL UNION ALL SELECT '1h', * FROM $db.points_1h FINAL) ORDER BY ALL`,
  log: 'SELECT * FROM $db.sample_log ORDER BY ALL',
}

describe('ClickHouseSink insert paths', () => {
  it('stores the same rows through Arrow and through JSON, once per token', async () => {
    expect(arrow.kind).toBe('arrow')
    const viaArrow = new ClickHouseSink(clickhouse, DB, { inserter: arrow })
    const viaJson = new ClickHouseSink(clickhouse, OTHER, { inserter: new JsonInserter(clickhouse) })
    const serverInserter = await columnarInserter(server)
    expect(serverInserter.kind).toBe('row-binary')
    const viaRowBinary = new ClickHouseSink(server, SERVED)
    const a = batches(new SeriesRegistry())
    const j = batches(new SeriesRegistry())
    const r = batches(new SeriesRegistry())
    for (let i = 0; i < a.length; i++) {
      await viaArrow.write(a[i] as RowBatch, `chunk-${String(i)}`)
      await viaJson.write(j[i] as RowBatch, `chunk-${String(i)}`)
      await viaRowBinary.write(r[i] as RowBatch, `chunk-${String(i)}`)
    }
    const again = batches(new SeriesRegistry())
    for (let i = 0; i < again.length; i++)
      await viaRowBinary.write(again[i] as RowBatch, `chunk-${String(i)}`)
    // A replay of every chunk with a fresh registry (a restarted processor): dropped everywhere.
    const replay = batches(new SeriesRegistry())
    for (let i = 0; i < replay.length; i++) await viaArrow.write(replay[i] as RowBatch, `chunk-${String(i)}`)

    const points = await rows(DB, DUMPS.points)
    expect(points).toHaveLength(4 * 30 * 3 * 4)
    expect(points).toEqual(await rows(OTHER, DUMPS.points))
    expect(await rows(SERVED, DUMPS.points, server)).toEqual(points)
    for (const dump of [DUMPS.series, DUMPS.tiers, DUMPS.log]) {
      expect(await rows(DB, dump)).toEqual(await rows(OTHER, dump))
      expect(await rows(SERVED, dump, server)).toEqual(await rows(DB, dump))
    }

    // 12 series over two UTC days: 24 series rows, written at most once per series, day and write.
    const series = await rows(DB, DUMPS.series)
    expect(series).toHaveLength(24)
    expect(series).toContainEqual([
      'globex',
      'node_load1',
      'web-1',
      '{}',
      seriesId('globex', 'node_load1', 'web-1', '{}').toString(),
      new Date(Math.floor(T0 / DAY_US) * 86_400_000).toISOString().slice(0, 10),
    ])
    const written = await rows(DB, `SELECT count() FROM $db.series`)
    expect(Number((written[0] as [string])[0])).toBeLessThanOrEqual(24 * 2)
    // Every tier counts every point exactly once.
    const counts = await rows(
      DB,
      `SELECT sum(value_count) FROM $db.points_10s UNION ALL SELECT sum(value_count) FROM $db.points_1m UNION ALL SELECT sum(value_count) FROM $db.points_1h`,
    )
    expect(counts.map((r) => Number((r as [string])[0]))).toEqual([1440, 1440, 1440])
  })

  it('leaves a series to be written again when its write failed', async () => {
    const registry = new SeriesRegistry()
    const failing: ColumnarInserter = {
      kind: 'json',
      insert: () => Promise.reject(new Error('ClickHouse is away')),
      close: () => Promise.resolve(),
    }
    const b = newRowBatch(registry)
    addPoint(b, { tenant: 'acme', metric: 'node_load15', host: 'web-9', labels: '{}', tsUs: T0, value: 1 })
    await expect(
      new ClickHouseSink(clickhouse, DB, { inserter: failing }).write(b, 'fail-1'),
    ).rejects.toThrow(/insert of chunk fail-1 failed: Error: ClickHouse is away/)
    expect(b.series[0]?.storedDay).toBe(-1)
    await new ClickHouseSink(clickhouse, DB, { inserter: arrow }).write(b, 'fail-1')
    expect(b.series[0]?.storedDay).toBe(Math.floor(T0 / DAY_US))
    expect(await rows(DB, `SELECT host FROM $db.series WHERE metric = 'node_load15'`)).toEqual([['web-9']])
  })
})
