/**
 * Tenant isolation on the series-id layout holds by mechanism, not by the odds of MD5: every read of
 * points or tiers takes the ids from the tenant's own series rows AND filters the points by their own
 * tenant column, and names come from the tenant's series rows only. Here globex's rows carry acme's
 * very series ids (a collision, 2^-64 per pair, forced), with other names and values a thousand times
 * larger, in the points and, through the tier feed, in every tier; each tenant must still see exactly
 * its own values and names through every reader: the Prometheus API (raw and tiers, the catalog),
 * the dashboard's charts and the fleet view.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { seriesId } from '#schemas/src/series-id.ts'
import { ClickHouseSink, addPoint, newRowBatch } from '#test/support/store-rows.ts'
import { microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { buildQueryApi } from '../../src/server.ts'

const DB = 'isolation'
const S = 1000
const M = 60 * S
/** On 5 min edges, so every chart step is whole; an hour of 1 s points ending 10 min ago or more. */
const T_END = Math.floor(Date.now() / (5 * M)) * 5 * M - 10 * M
const T0 = T_END - 60 * M
const SECONDS = 3600

const LOAD = { metric: 'node_load1', labels: '{}' }
const IDLE = { metric: 'node_cpu_seconds_total', labels: '{"cpu":"0","mode":"idle"}' }
const USER = { metric: 'node_cpu_seconds_total', labels: '{"cpu":"0","mode":"user"}' }

let db: EmbeddedClickHouse
let app: FastifyInstance
let url = ''
const key = { acme: '', globex: '' }

beforeAll(async () => {
  db = await openEmbeddedClickHouse(DB)
  const batch = newRowBatch()
  for (let i = 0; i < SECONDS; i++) {
    const tsUs = (T0 + i * S) * 1000
    const point = (s: typeof LOAD, value: number): void => {
      addPoint(batch, { tenant: 'acme', host: 'h1', ...s, tsUs, value })
    }
    point(LOAD, 1.5)
    point(IDLE, 0.75 * i)
    point(USER, 0.25 * i)
    batch.log.push([
      'acme',
      'h1',
      'web-1',
      'agent-1',
      i,
      'cpu',
      microsToDateTime64(tsUs),
      3,
      0,
      String(i),
      'samples',
    ])
  }
  await new ClickHouseSink(db.clickhouse, DB).write(batch, 'acme')

  // globex: acme's ids under globex's tenant and other names, in the series table, the points and,
  // through the same Null table the processors feed, every tier.
  const evil = (s: typeof LOAD): string => seriesId('acme', s.metric, 'h1', s.labels).toString()
  const ids = `[${[LOAD, IDLE, USER].map(evil).join(', ')}]`
  const days = [...new Set([T0, T_END].map((t) => new Date(t).toISOString().slice(0, 10)))]
  await db.clickhouse.command({
    query: `INSERT INTO ${DB}.series
      SELECT 'globex', metric, 'evil', '{"stolen":"yes"}', id, toDate(d)
      FROM (SELECT arrayJoin(arrayZip(['${LOAD.metric}', '${IDLE.metric}', '${IDLE.metric}'], ${ids})) AS x,
          x.1 AS metric, x.2 AS id) AS s
      ARRAY JOIN ['${days.join("', '")}'] AS d`,
  })
  for (const table of ['points', 'points_tier_feed'])
    await db.clickhouse.command({
      query: `INSERT INTO ${DB}.${table}
        SELECT 'globex', id, fromUnixTimestamp64Milli(toInt64(${T0} + n * 1000), 'UTC'), 1000 * n
        FROM (SELECT arrayJoin(${ids}) AS id) AS i, (SELECT number AS n FROM numbers(${SECONDS})) AS t`,
    })
  await db.clickhouse.insert({
    table: `${DB}.sample_log`,
    values: [
      [
        'globex',
        'evil',
        'evil-1',
        'agent-e',
        1,
        'cpu',
        microsToDateTime64(T_END * 1000),
        3,
        0,
        '1',
        'samples',
      ],
    ],
    format: 'JSONCompactEachRow',
  })

  const { auth, keys } = await memoryKeys([
    { tenant: 'acme', scopes: ['read'] },
    { tenant: 'globex', scopes: ['read'] },
  ])
  ;[key.acme, key.globex] = keys as [string, string]
  app = await buildQueryApi({
    clickhouse: db.clickhouse,
    database: DB,
    keys: auth,
    logger: createLogger('it-isolation', { level: 'silent' }),
    maxPoints: 11_000,
    readiness: [],
    promql: { timeoutMs: 30_000, maxBuckets: 2_000_000, cacheTtlMs: 0 },
  })
  url = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app.close()
  await db.close()
})

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the body's shape
async function get<T>(
  tenant: 'acme' | 'globex',
  path: string,
  params: Record<string, string>,
): Promise<{ body: T; headers: Headers }> {
  const res = await fetch(`${url}${path}?${new URLSearchParams(params).toString()}`, {
    headers: { authorization: `Bearer ${key[tenant]}` },
  })
  expect(res.status, `${path} ${await res.clone().text()}`).toBe(200)
  return { body: (await res.json()) as T, headers: res.headers }
}

interface Matrix {
  data: { result: { metric: Record<string, string>; values: [number, string][] }[] }
}

const range = (tenant: 'acme' | 'globex', query: string, stepS: number) =>
  get<Matrix>(tenant, '/api/v1/query_range', {
    query,
    start: String((T_END - 30 * M) / 1000),
    end: String(T_END / 1000),
    step: String(stepS),
  })

describe('series-id collisions between tenants', () => {
  it.each([
    [15, 'metrics_raw'],
    [60, 'metrics_10s'],
    [300, 'metrics_1m'],
  ])(
    'the Prometheus API gives each tenant its own points and names (step %i s: %s)',
    async (step, source) => {
      const acme = await range('acme', 'node_load1', step)
      expect(acme.headers.get('x-procstream-sources')).toBe(source)
      expect(acme.body.data.result.map((r) => r.metric)).toEqual([
        { __name__: 'node_load1', host: 'h1', instance: 'web-1', job: 'node' },
      ])
      const values = acme.body.data.result[0]?.values ?? []
      expect(values.length).toBe(1800 / step + 1)
      for (const [, v] of values) expect(v).toBe('1.5')

      const globex = await range('globex', 'node_load1', step)
      expect(globex.body.data.result.map((r) => r.metric)).toEqual([
        { __name__: 'node_load1', host: 'evil', instance: 'evil-1', job: 'node', stolen: 'yes' },
      ])
      for (const [, v] of globex.body.data.result[0]?.values ?? []) expect(Number(v)).toBeGreaterThan(1000)
    },
  )

  it('gives each tenant its own rates, raw and from the tiers', async () => {
    for (const step of [15, 60, 300]) {
      const acme = await range('acme', 'sum(rate(node_cpu_seconds_total[5m]))', step)
      const values = acme.body.data.result[0]?.values ?? []
      expect(values.length, `step ${String(step)}`).toBe(1800 / step + 1)
      for (const [, v] of values) expect(Number(v)).toBeCloseTo(1, 9)
    }
  })

  it('lists each tenant’s own series, label names and values only', async () => {
    const window = { start: String(T0 / 1000), end: String(T_END / 1000) }
    const acme = await get<{ data: Record<string, string>[] }>('acme', '/api/v1/series', {
      'match[]': '{__name__=~"node_.*"}',
      ...window,
    })
    expect(acme.body.data.map((s) => s.host)).toEqual(['h1', 'h1', 'h1'])
    const names = await get<{ data: string[] }>('acme', '/api/v1/labels', window)
    expect(names.body.data).not.toContain('stolen')
    const hosts = await get<{ data: string[] }>('acme', '/api/v1/label/host/values', window)
    expect(hosts.body.data).toEqual(['h1'])
    const theirs = await get<{ data: string[] }>('globex', '/api/v1/label/host/values', window)
    expect(theirs.body.data).toEqual(['evil'])
  })

  it.each([
    [1800, undefined],
    [30, 'metrics_10s'],
    [6, 'metrics_1m'],
  ])('charts each tenant’s own values (%i points)', async (points, tier) => {
    const params = { from: String(T_END - 30 * M), to: String(T_END), points: String(points) }
    const acme = await get<{
      source: string
      series: { labels: Record<string, string>; values: (number | null)[] }[]
    }>('acme', '/api/series', { host: 'h1', metric: 'node_load1', ...params })
    expect(acme.body.source).toBe(tier ?? 'metrics_raw')
    expect(acme.body.series.map((s) => s.labels)).toEqual([{}])
    for (const v of acme.body.series[0]?.values ?? []) expect(v).toBe(1.5)
    const rate = await get<{ series: { values: (number | null)[] }[] }>('acme', '/api/series', {
      host: 'h1',
      metric: 'node_cpu_seconds_total',
      fn: 'rate',
      sum_by: 'cpu',
      ...params,
    })
    for (const v of rate.body.series[0]?.values.slice(1) ?? []) expect(v).toBeCloseTo(1, 9)
    // acme's key does not reach globex's host, whichever ids its rows carry.
    const evil = await get<{ series: unknown[] }>('acme', '/api/series', {
      host: 'evil',
      metric: 'node_load1',
      ...params,
    })
    expect(evil.body.series).toEqual([])
  })

  it('ranks each tenant’s own hosts with their own load', async () => {
    for (const points of [40, 6]) {
      const params = { from: String(T_END - 30 * M), to: String(T_END), points: String(points) }
      const acme = await get<{ hosts: { host_id: string; cpu_busy: number | null }[] }>(
        'acme',
        '/api/fleet',
        params,
      )
      expect(acme.body.hosts.map((h) => [h.host_id, h.cpu_busy])).toEqual([['h1', 25]])
      const globex = await get<{ hosts: { host_id: string; cpu_busy: number | null }[] }>(
        'globex',
        '/api/fleet',
        params,
      )
      expect(globex.body.hosts.map((h) => h.host_id)).toEqual(['evil'])
    }
  })
})
