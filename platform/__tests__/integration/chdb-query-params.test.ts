/**
 * Reads with bound parameters through the embedded session pool: their parameters are written into
 * the text (chdb-query-params.ts), which must mean exactly what binding means, values that try to
 * break out of their literal included, and must let such reads run at once, which chdb-node's
 * binding does not (it runs them one at a time across the process).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import { createClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse } from '../../clickhouse.ts'
import { inlineQueryParams } from '../../chdb-query-params.ts'

const dir = mkdtempSync(join(tmpdir(), 'procstream-params-'))
let pool: ClickHouseClient

beforeAll(async () => {
  pool = await createClickHouse({
    url: undefined,
    user: 'default',
    password: '',
    database: 'params',
    embeddedPath: dir,
    embeddedSessions: 2,
  })
  await pool.command({ query: 'CREATE DATABASE IF NOT EXISTS params' })
  await pool.command({
    query: 'CREATE TABLE params.t (tenant String, x UInt64) ENGINE = MergeTree ORDER BY x',
  })
  await pool.command({ query: "INSERT INTO params.t VALUES ('acme', 1), ('globex', 2)" })
})

afterAll(async () => {
  await pool.close()
  rmSync(dir, { recursive: true, force: true })
})

const STRINGS = [
  'acme',
  "acme' OR 1=1 --",
  "') UNION ALL SELECT tenant, x FROM params.t --",
  'a\\',
  "\\'",
  'line\nbreak\ttab\r\u0000nul\u001f',
  '{x:String}',
  'ünïcödé 🙂 ﬁ',
  '',
]

describe('bound parameters written into the text', () => {
  it('answers as the engine’s own binding does, for every kind of value written', async () => {
    // A session of its own binds for real; the pool writes the literals.
    const binder = createClient({ connection: createChdbConnection({ path: dir }) } as Parameters<
      typeof createClient
    >[0])
    try {
      const query =
        'SELECT {s:String} AS s, {a:Array(String)} AS a, {i:Int64} AS i, {u:UInt64} AS u, {ids:Array(UInt64)} AS ids, {d:Date} AS d, {f:Float64} AS f, toTypeName(i) AS ti, toTypeName(u) AS tu'
      for (const s of STRINGS) {
        const query_params = {
          s,
          a: [s, 'x'],
          i: -1_796_669_040_000_000,
          u: 18_446_744_073_709_551_615n,
          ids: [264_707_014_216_610_015n, 7n],
          d: '2026-12-07',
          f: 0.1 + 0.2,
          x: 1,
        }
        expect(inlineQueryParams(query, query_params), JSON.stringify(s)).toBeDefined()
        const bound = await (await binder.query({ query, query_params, format: 'JSONEachRow' })).text()
        const written = await (await pool.query({ query, query_params, format: 'JSONEachRow' })).text()
        expect(written, JSON.stringify(s)).toBe(bound)
      }
    } finally {
      await binder.close()
    }
  })

  it('never lets a value reach past its literal: only the named tenant’s row, the table untouched', async () => {
    for (const s of STRINGS) {
      const rs = await pool.query({
        query: 'SELECT tenant, x FROM params.t WHERE tenant = {tenant:String} ORDER BY x',
        query_params: { tenant: s },
        format: 'JSONEachRow',
      })
      expect(await rs.json(), JSON.stringify(s)).toEqual(s === 'acme' ? [{ tenant: 'acme', x: 1 }] : [])
    }
    const rows = await (
      await pool.query({ query: 'SELECT count() AS n FROM params.t', format: 'JSONEachRow' })
    ).json()
    expect(rows).toEqual([{ n: 2 }])
  })

  it('runs reads with parameters at once on the pool’s sessions', async () => {
    const read = (tenant: string): Promise<unknown> =>
      pool
        .query({
          query: 'SELECT sleep(1) AS z, {tenant:String} AS tenant',
          query_params: { tenant },
          format: 'JSONEachRow',
        })
        .then((rs) => rs.json())
    const t0 = performance.now()
    const answers = await Promise.all([read('acme'), read('globex')])
    const ms = performance.now() - t0
    expect(answers).toEqual([[{ z: 0, tenant: 'acme' }], [{ z: 0, tenant: 'globex' }]])
    // Bound one at a time, the two would take 2 s.
    expect(ms).toBeLessThan(1800)
  })
})
