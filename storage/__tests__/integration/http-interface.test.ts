/**
 * The storage server through the real `@clickhouse/client` over HTTP, as processors and query APIs
 * use it: parameters, settings that stay with their statement, deduplicated inserts, the engine's
 * errors in the server's shape, authentication and the limits.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'node:http'
import { gzipSync } from 'node:zlib'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { ChdbExecutor } from '../../src/chdb-executor.ts'
import { buildStorageServer } from '../../src/server.ts'

const dir = mkdtempSync(join(tmpdir(), 'procstream-storage-'))
const PASSWORD = 'storage-test-secret'
let executor: ChdbExecutor
let app: FastifyInstance
let url: string
let client: ClickHouseClient

async function rejection(p: Promise<unknown>): Promise<{ code?: string; type?: string; message: string }> {
  try {
    await p
  } catch (err) {
    return err as { code?: string; type?: string; message: string }
  }
  throw new Error('expected a rejection')
}

beforeAll(async () => {
  executor = new ChdbExecutor(join(dir, 'clickhouse'))
  app = buildStorageServer({
    executor,
    credentials: { user: 'default', password: PASSWORD },
    maxBodyBytes: 64 * 1024,
    loopbackOnly: true,
    logger: createLogger('storage-test', { level: 'silent' }),
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  url = `http://127.0.0.1:${address.port}`
  // As platform/clickhouse.ts builds it for a server, response compression asked for included.
  client = createClient({
    url,
    password: PASSWORD,
    compression: { request: false, response: true },
    // The refusals below are expected: the client would log each one as an error.
    log: { level: ClickHouseLogLevel.OFF },
  })
  await client.command({ query: 'CREATE DATABASE IF NOT EXISTS st' })
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS st.t (k String, v UInt64) ENGINE = MergeTree ORDER BY k
            SETTINGS non_replicated_deduplication_window = 100`,
  })
})

afterAll(async () => {
  await client.close()
  await app.close()
  executor.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('storage server', () => {
  it('answers ping and binds parameters in their text form', async () => {
    expect((await client.ping()).success).toBe(true)
    const rs = await client.query({
      query: 'SELECT {xs:Array(String)} AS xs, {s:String} AS s, {n:UInt64} AS n, {t:DateTime64(6)} AS t',
      query_params: {
        xs: ["it's", 'a\\b'],
        s: 'tab\there',
        n: 18446744073709551615n,
        t: '2026-11-23 10:00:00.123456',
      },
      // A setting on the URL, and the only exact way for a UInt64 through JSON.
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([
      { xs: ["it's", 'a\\b'], s: 'tab\there', n: '18446744073709551615', t: '2026-11-23 10:00:00.123456' },
    ])
  })

  it('keeps each statement’s settings to that statement, however many run at once', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const rs = await client.query({
          query: "SELECT getSetting('max_threads') AS t, getSetting('insert_deduplication_token') AS token",
          clickhouse_settings: { max_threads: i + 1, insert_deduplication_token: `tok-${i}` },
          format: 'JSONEachRow',
        })
        return rs.json<{ t: number; token: string }>()
      }),
    )
    answers.forEach((rows, i) => {
      expect(rows).toEqual([{ t: i + 1, token: `tok-${i}` }])
    })
    const after = await client.query({
      query: "SELECT getSetting('insert_deduplication_token') AS token",
      format: 'JSONEachRow',
    })
    expect(await after.json()).toEqual([{ token: '' }])
  })

  it('deduplicates a replayed insert by its token, as the processor relies on', async () => {
    const insert = (values: unknown[][], token: string): Promise<unknown> =>
      client.insert({
        table: 'st.t',
        values,
        format: 'JSONCompactEachRow',
        clickhouse_settings: { insert_deduplication_token: token, insert_deduplicate: 1 },
      })
    await insert(
      [
        ['a', 1],
        ['b', 2],
      ],
      'chunk-1',
    )
    await insert(
      [
        ['a', 1],
        ['b', 2],
      ],
      'chunk-1',
    )
    await insert([['c', 3]], 'chunk-2')
    const rs = await client.query({
      query: 'SELECT toUInt32(count()) AS n, toUInt32(sum(v)) AS s FROM st.t',
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ n: 3, s: 6 }])
  })

  it('takes a gzip-compressed insert body', async () => {
    const gz = createClient({
      url,
      password: PASSWORD,
      compression: { request: true, response: false },
      log: { level: ClickHouseLogLevel.OFF },
    })
    try {
      await gz.insert({ table: 'st.t', values: [['gz', 7]], format: 'JSONCompactEachRow' })
      const rs = await gz.query({ query: "SELECT v FROM st.t WHERE k = 'gz'", format: 'JSONEachRow' })
      expect(await rs.json()).toEqual([{ v: 7 }])
    } finally {
      await gz.close()
    }
  })

  it('passes the engine’s errors through with their code and name', async () => {
    const unknown = await rejection(client.query({ query: 'SELECT * FROM st.nope' }))
    expect(unknown.code).toBe('60')
    expect(unknown.type).toBe('UNKNOWN_TABLE')
    const syntax = await rejection(client.command({ query: 'SELEC 1' }))
    expect(syntax.code).toBe('62')
    // A failed statement changes nothing for the next one.
    const rs = await client.query({ query: 'SELECT toUInt32(count()) AS n FROM st.t', format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ n: 4 }])
  })

  it('runs one statement per request and nothing more, refused before any of it runs', async () => {
    const auth = `Basic ${Buffer.from(`default:${PASSWORD}`).toString('base64')}`
    const exists = async (table: string): Promise<number> => {
      const rs = await client.query({ query: `EXISTS TABLE st.${table}`, format: 'JSONEachRow' })
      return ((await rs.json<{ result: number }>())[0] as { result: number }).result
    }
    const rows = async (): Promise<string> =>
      await (await client.query({ query: 'SELECT k, v FROM st.t ORDER BY k, v', format: 'CSV' })).text()
    const before = await rows()
    const post = (query: string | undefined, body: string): Promise<Response> =>
      fetch(`${url}/${query === undefined ? '' : `?query=${encodeURIComponent(query)}`}`, {
        method: 'POST',
        headers: { authorization: auth },
        body,
      })
    const create = (n: number): string => `CREATE TABLE st.evil${String(n)} (a UInt8) ENGINE = Memory`
    const multi =
      /^Code: 62\. DB::Exception: the request holds more than one statement; send one statement per request \(nothing was run\)\. \(SYNTAX_ERROR\)\n$/
    const attempts: [string | undefined, string, RegExp][] = [
      [undefined, `SELECT 1; ${create(1)}`, multi],
      [`SELECT 1`, `; ${create(2)}`, multi],
      // A query parameter that is one statement does not vouch for a body that is SQL.
      [`INSERT INTO st.t SELECT 'evil', 1 FORMAT CSV`, `;${create(3)}`, multi],
      [`SELECT 1; ${create(4)}`, '', multi],
      [undefined, `INSERT INTO st.t SELECT 'evil', 2; ${create(5)}`, multi],
      // The engine would run what follows a VALUES list's ';' although its parser stops at the rows.
      [undefined, `INSERT INTO st.t VALUES ('evil', 3); ${create(6)}`, /INSERT … VALUES is not accepted/],
      [`INSERT INTO st.t VALUES`, `('evil', 4); ${create(7)}`, /INSERT … VALUES is not accepted/],
      [`INSERT INTO st.t FORMAT Values`, `('evil', 5); ${create(8)}`, /INSERT … VALUES is not accepted/],
      // Refused before the formatter, which would copy each nested BETWEEN's operand (minutes, GBs).
      [
        undefined,
        `SELECT ${Array.from({ length: 26 }).reduce<string>((q) => `(${q} BETWEEN 1 AND 2)`, '1')}`,
        /the word BETWEEN appears 26 times; at most 8 are accepted/,
      ],
    ]
    for (const [query, body, message] of attempts) {
      const res = await post(query, body)
      expect(res.status, `${String(query)} + ${body}`).toBe(400)
      expect(await res.text()).toMatch(message)
    }
    // Over GET too, where the query parameter is the whole statement.
    const get = await fetch(`${url}/?query=${encodeURIComponent(`SELECT 1; ${create(9)}`)}`, {
      headers: { authorization: auth },
    })
    expect(get.status).toBe(400)
    expect(get.headers.get('x-clickhouse-exception-code')).toBe('62')
    // After an INSERT's FORMAT everything is data: a statement there is bad data, never run.
    const inData = await post('INSERT INTO st.t FORMAT TSV', `evil\t6\n;${create(10)}\n`)
    expect(inData.status).toBe(500)
    expect(await inData.text()).toMatch(/Cannot parse input/)
    for (let n = 1; n <= 10; n++) expect(await exists(`evil${String(n)}`), `evil${String(n)}`).toBe(0)
    expect(await rows()).toBe(before)

    // Through the client, as the processors and query APIs use it.
    const err = await rejection(client.command({ query: `SELECT 1; ${create(11)}` }))
    expect(err).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' })
    expect(await exists('evil11')).toBe(0)
    const bad = await rejection(client.query({ query: 'SELECT (1' }))
    expect(bad.code).toBe('62')
    expect(bad.message).toMatch(/^the statement does not parse \(nothing was run\): Syntax error/)
    expect(bad.message).not.toMatch(/formatQuerySingleLine/)
    // One statement with a trailing ';', comments and an INSERT in any named format still run.
    expect(await (await post(undefined, 'SELECT 41 + 1; -- the answer\n')).text()).toBe('42\n')
    await client.command({ query: 'CREATE TABLE st.inline (k String, v UInt64) ENGINE = Memory' })
    expect((await post(undefined, 'INSERT INTO st.inline FORMAT TSV\nok\t7\n')).status).toBe(200)
    expect((await post('INSERT INTO st.inline FORMAT TSV', 'ok\t8\n')).status).toBe(200)
    const inline = await client.query({ query: 'SELECT k, v FROM st.inline ORDER BY v', format: 'CSV' })
    expect(await inline.text()).toBe('"ok",7\n"ok",8\n')
  })

  it('refuses a wrong password without running the statement, naming no secret', async () => {
    const intruder = createClient({ url, password: 'wrong', log: { level: ClickHouseLogLevel.OFF } })
    try {
      const err = await rejection(intruder.command({ query: 'DROP TABLE st.t' }))
      expect(err.code).toBe('516')
      expect(err.message).toMatch(/Authentication failed/)
      expect(err.message).not.toContain('wrong')
    } finally {
      await intruder.close()
    }
    const rs = await client.query({ query: 'EXISTS TABLE st.t', format: 'JSONEachRow' })
    expect(await rs.json()).toEqual([{ result: 1 }])
  })

  it('names what it does not support, what is too large, and refuses writes over GET', async () => {
    const session = await rejection(client.query({ query: 'SELECT 1', session_id: 'abc' }))
    expect(session.message).toMatch(/session_id: HTTP sessions are not supported/)
    const auth = `Basic ${Buffer.from(`default:${PASSWORD}`).toString('base64')}`
    const big = await fetch(`${url}/?query=${encodeURIComponent('INSERT INTO st.t FORMAT TSV')}`, {
      method: 'POST',
      headers: { authorization: auth },
      body: 'x\t1\n'.repeat(20_000),
    })
    expect(big.status).toBe(413)
    expect(big.headers.get('x-clickhouse-exception-code')).toBe('36')
    expect(await big.text()).toMatch(/body is over 65536 bytes/)
    const bomb = await fetch(`${url}/?query=${encodeURIComponent('INSERT INTO st.t FORMAT TSV')}`, {
      method: 'POST',
      headers: { authorization: auth, 'content-encoding': 'gzip' },
      body: gzipSync(Buffer.from('x\t1\n'.repeat(100_000))),
    })
    expect(bomb.status).toBe(413)
    const write = await fetch(`${url}/?query=${encodeURIComponent('DROP TABLE st.t')}`, {
      headers: { authorization: auth },
    })
    expect(write.status).toBe(403)
    expect(await write.text()).toMatch(/READONLY/)
    const read = await fetch(`${url}/?query=${encodeURIComponent('SELECT count() FROM st.t')}`, {
      headers: { authorization: auth },
    })
    expect(await read.text()).toBe('4\n')
    const nowhere = await fetch(`${url}/play`, { headers: { authorization: auth } })
    expect(nowhere.status).toBe(404)
  })

  it('refuses web pages, foreign Host names, writes over HEAD and a query_id it could not echo', async () => {
    const auth = `Basic ${Buffer.from(`default:${PASSWORD}`).toString('base64')}`
    const post = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${url}/`, { method: 'POST', headers: { authorization: auth, ...headers }, body: 'SELECT 1' })
    const webPages: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
    ]
    for (const headers of webPages) {
      const res = await post(headers)
      expect(res.status, JSON.stringify(headers)).toBe(403)
      expect(await res.text()).toMatch(/AUTHENTICATION_FAILED/)
    }
    // fetch may not set Host; a rebound DNS name arrives as a plain request with another Host.
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${url}/`,
        { method: 'POST', headers: { authorization: auth, host: 'rebound.example:8123' } },
        (res) => {
          let body = ''
          res.on('data', (c: Buffer) => {
            body += c.toString()
          })
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body })
          })
        },
      )
      req.on('error', reject)
      req.end('SELECT 1')
    })
    expect(rebound.status).toBe(403)
    expect(rebound.body).toMatch(/Host "rebound.example" is not this loopback server/)
    expect((await post({ 'sec-fetch-site': 'none' })).status).toBe(200)
    const head = await fetch(
      `${url}/?query=${encodeURIComponent('CREATE TABLE st.h (x UInt8) ENGINE = Memory')}`,
      {
        method: 'HEAD',
        headers: { authorization: auth },
      },
    )
    expect(head.status).toBe(403)
    const exists = await client.query({ query: 'EXISTS TABLE st.h', format: 'JSONEachRow' })
    expect(await exists.json()).toEqual([{ result: 0 }])
    const badId = await fetch(`${url}/?query_id=${encodeURIComponent('a\r\nx: y')}`, {
      method: 'POST',
      headers: { authorization: auth },
      body: 'CREATE TABLE st.q (x UInt8) ENGINE = Memory',
    })
    expect(badId.status).toBe(400)
    expect(await badId.text()).toMatch(/query_id/)
    const created = await client.query({ query: 'EXISTS TABLE st.q', format: 'JSONEachRow' })
    expect(await created.json()).toEqual([{ result: 0 }])
  })

  it('keeps a SET or USE in one statement’s SQL out of the next', async () => {
    await client.command({ query: 'SET max_threads = 1' })
    await client.command({ query: 'USE st' })
    const rs = await client.query({
      query: "SELECT getSetting('max_threads') != 1 AS untouched, currentDatabase() AS db",
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ untouched: 1, db: 'default' }])
  })
})
