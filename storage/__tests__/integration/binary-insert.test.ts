/**
 * Binary INSERT bodies through the storage server, sent as the processors send them: `client.exec`
 * with the statement in the `query` parameter and the RowBinary bytes as the body. Checked: the rows
 * land bit for bit although their bytes hold blank lines, the statement's settings (the
 * deduplication token) apply, a bad body stores nothing and says why, the body's file is gone
 * whatever happened, and the limits hold.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, watch, type FSWatcher } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { rowBinary as columnarRowBinary } from '#platform/columnar.ts'
import { ChdbExecutor } from '../../src/chdb-executor.ts'
import { buildStorageServer } from '../../src/server.ts'

const dir = mkdtempSync(join(tmpdir(), 'procstream-storage-binary-'))
const PASSWORD = 'storage-binary-secret'
const MAX_BODY = 64 * 1024
let executor: ChdbExecutor
let app: FastifyInstance
let url: string
let client: ClickHouseClient

const COLUMNS = '(tenant, series_id, ts, value)'

interface Point {
  tenant: string
  /** series_id as its two 32-bit halves. */
  lo: number
  hi: number
  us: number
  value: number
}

/** The processors' own encoder (platform/columnar.ts), so this is the body they send. */
function rowBinary(points: readonly Point[]): Buffer {
  const words = (pick: (p: Point) => [number, number]): Uint32Array => Uint32Array.from(points.flatMap(pick))
  return columnarRowBinary({
    table: 'st.points',
    rows: points.length,
    columns: [
      { name: 'tenant', data: { kind: 'string', values: points.map((p) => p.tenant) } },
      { name: 'series_id', data: { kind: 'uint64', words: words((p) => [p.lo, p.hi]) } },
      {
        name: 'ts',
        data: {
          kind: 'micros',
          words: words((p) => [p.us % 0x1_0000_0000, Math.floor(p.us / 0x1_0000_0000)]),
        },
      },
      { name: 'value', data: { kind: 'float64', values: Float64Array.from(points.map((p) => p.value)) } },
    ],
  })
}

/** A time in 2026 whose two low bytes are 0x0A 0x0A: a blank line inside the Int64. */
const BLANK_LINE_US = 1_784_800_000_000_000 - (1_784_800_000_000_000 % 65_536) + 0x0a0a
/** A double whose two low bytes are 0x0A 0x0A. */
const BLANK_LINE_VALUE = Buffer.from([0x0a, 0x0a, 0, 0, 0, 0, 0xf0, 0x3f]).readDoubleLE(0)

const POINTS: Point[] = [
  { tenant: 'acme', lo: 0x0a0a0a0a, hi: 0x0a0a0a0a, us: BLANK_LINE_US, value: BLANK_LINE_VALUE },
  // A tenant holding a blank line and SQL: bytes of a value, never text of a statement.
  {
    tenant: "t\n\n'; DROP TABLE st.points; --",
    lo: 0xffffffff,
    hi: 0xffffffff,
    us: BLANK_LINE_US + 1,
    value: -0,
  },
  { tenant: 'acme', lo: 7, hi: 0, us: BLANK_LINE_US + 2, value: Number.NaN },
]

async function insertPoints(
  body: Buffer,
  settings: string,
  options: { table?: string; urlSettings?: Record<string, string | number> } = {},
): Promise<void> {
  const result = await client.exec({
    query: `INSERT INTO ${options.table ?? 'st.points'} ${COLUMNS}${settings} FORMAT RowBinary`,
    values: Readable.from([body]),
    ...(options.urlSettings === undefined ? {} : { clickhouse_settings: options.urlSettings }),
  })
  await finished(result.stream.resume())
}

const dedup = (token: string): string =>
  ` SETTINGS insert_deduplicate = 1, insert_deduplication_token = '${token}'`

async function stored(table = 'st.points'): Promise<Record<string, unknown>[]> {
  const rs = await client.query({
    query: `SELECT tenant, toString(series_id) AS series_id, toString(ts) AS ts,
                   hex(reinterpretAsString(value)) AS value_bits
            FROM ${table} ORDER BY ts, tenant`,
    format: 'JSONEachRow',
  })
  return rs.json<Record<string, unknown>>()
}

/** The row the engine should hold for a point, computed here without the engine. */
function expected(p: Point): Record<string, unknown> {
  const bits = Buffer.alloc(8)
  bits.writeDoubleLE(p.value)
  const ms = Math.floor(p.us / 1000)
  const iso = new Date(ms).toISOString()
  return {
    tenant: p.tenant,
    series_id: ((BigInt(p.hi) << 32n) | BigInt(p.lo)).toString(),
    ts: `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(p.us % 1_000_000).padStart(6, '0')}`,
    value_bits: bits.toString('hex').toUpperCase(),
  }
}

/** File names that appear in the spool folder while `run` runs (creations and removals alike). */
async function spoolActivity(run: () => Promise<unknown>): Promise<{ names: Set<string>; outcome: unknown }> {
  const names = new Set<string>()
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(executor.spoolDir, (_event, name) => {
      if (name !== null) names.add(name)
    })
    const outcome = await run().then(
      () => 'ok',
      (err: unknown) => err,
    )
    return { names, outcome }
  } finally {
    // Events of the run may still be on their way: a moment for them before the watch ends.
    await new Promise((r) => setTimeout(r, 100))
    watcher?.close()
  }
}

beforeAll(async () => {
  executor = new ChdbExecutor(join(dir, 'clickhouse'), { spoolParent: dir })
  app = buildStorageServer({
    executor,
    credentials: { user: 'default', password: PASSWORD },
    maxBodyBytes: MAX_BODY,
    loopbackOnly: true,
    logger: createLogger('storage-binary-test', { level: 'silent' }),
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  url = `http://127.0.0.1:${address.port}`
  client = createClient({
    url,
    password: PASSWORD,
    compression: { request: false, response: true },
    // The refusals below are expected: the client would log each one as an error.
    log: { level: ClickHouseLogLevel.OFF },
  })
  await client.command({ query: 'CREATE DATABASE IF NOT EXISTS st' })
  for (const table of ['points', 'points_url', 'points_copy'])
    await client.command({
      query: `CREATE TABLE st.${table} (tenant LowCardinality(String), series_id UInt64,
                ts DateTime64(6, 'UTC'), value Float64)
              ENGINE = MergeTree ORDER BY (tenant, series_id, ts)
              SETTINGS non_replicated_deduplication_window = 100`,
    })
})

afterAll(async () => {
  await client.close()
  await app.close()
  const spool = executor.spoolDir
  executor.close()
  expect(() => statSync(spool)).toThrow(/ENOENT/)
  rmSync(dir, { recursive: true, force: true })
})

describe('binary INSERT bodies', () => {
  it('stores RowBinary rows exactly, blank lines inside their values, and drops a replayed token', async () => {
    const body = rowBinary(POINTS)
    // The premise: read as text, this body would end at its first blank line.
    expect(body.indexOf('\n\n')).toBeGreaterThanOrEqual(0)
    expect(body.indexOf('\n\n')).toBeLessThan(body.length - 8)

    const first = await spoolActivity(() => insertPoints(body, dedup('chunk-1')))
    expect(first.outcome).toBe('ok')
    expect(await stored()).toEqual(POINTS.map(expected))
    // The body went through a file of its own, which is gone now.
    expect(first.names.size).toBe(1)
    expect(readdirSync(executor.spoolDir)).toEqual([])
    expect(statSync(executor.spoolDir).mode & 0o777).toBe(0o700)

    await insertPoints(body, dedup('chunk-1'))
    expect(await stored()).toEqual(POINTS.map(expected))
    // The token is what dropped it: the same rows under another token are stored again.
    await insertPoints(rowBinary(POINTS.slice(0, 1)), dedup('chunk-2'))
    const rs = await client.query({
      query: 'SELECT toUInt32(count()) AS n FROM st.points',
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ n: 4 }])
  })

  it('applies settings sent on the URL, and takes a gzip-compressed body', async () => {
    const body = rowBinary(POINTS)
    const url1 = { insert_deduplicate: 1, insert_deduplication_token: 'url-1' }
    await insertPoints(body, '', { table: 'st.points_url', urlSettings: url1 })
    await insertPoints(body, '', { table: 'st.points_url', urlSettings: url1 })
    expect(await stored('st.points_url')).toEqual(POINTS.map(expected))

    const gz = createClient({
      url,
      password: PASSWORD,
      compression: { request: true, response: false },
      log: { level: ClickHouseLogLevel.OFF },
    })
    try {
      const result = await gz.exec({
        query: `INSERT INTO st.points_url ${COLUMNS}${dedup('gz-1')} FORMAT RowBinary`,
        values: Readable.from([rowBinary([{ ...POINTS[0], us: BLANK_LINE_US + 10 } as Point])]),
      })
      await finished(result.stream.resume())
    } finally {
      await gz.close()
    }
    expect((await stored('st.points_url')).at(-1)).toEqual(
      expected({ ...POINTS[0], us: BLANK_LINE_US + 10 } as Point),
    )
  })

  it('refuses a truncated body with the engine’s reason, storing nothing and leaving no file', async () => {
    const before = await stored()
    const body = rowBinary(POINTS)
    const { names, outcome } = await spoolActivity(() =>
      insertPoints(body.subarray(0, body.length - 3), dedup('truncated-1')),
    )
    const err = outcome as { code?: string; type?: string; message: string }
    expect(err).toMatchObject({ code: '33', type: 'CANNOT_READ_ALL_DATA' })
    expect(err.message).toMatch(/Cannot read all data\. Bytes read: 5\. Bytes expected: 8/)
    expect(err.message).toMatch(/\(at row 3\)/)
    expect(err.message).toMatch(/in the RowBinary request body/)
    // The client never saw the server's file; its name stays the server's business.
    expect(err.message).not.toContain(executor.spoolDir)
    expect(names.size).toBe(1)
    expect(readdirSync(executor.spoolDir)).toEqual([])
    expect(await stored()).toEqual(before)
    // Nothing of the failed insert was remembered for deduplication: the full body under its token lands.
    await insertPoints(
      rowBinary(POINTS.slice(0, 1).map((p) => ({ ...p, us: p.us + 20 }))),
      dedup('truncated-1'),
    )
    expect((await stored()).length).toBe(before.length + 1)
  })

  it('refuses a body over the limit before any file is written', async () => {
    const before = await stored()
    const many = Array.from(
      { length: 3000 },
      (_, i) => ({ ...POINTS[0], us: BLANK_LINE_US + 100 + i }) as Point,
    )
    const body = rowBinary(many)
    expect(body.length).toBeGreaterThan(MAX_BODY)
    const { names, outcome } = await spoolActivity(() => insertPoints(body, dedup('big-1')))
    expect(outcome).toMatchObject({
      code: '36',
      message: expect.stringMatching(/body is over 65536 bytes/) as unknown,
    })
    expect(names.size).toBe(0)
    expect(await stored()).toEqual(before)
  })

  it('takes a binary body only into a table named plainly, running nothing else', async () => {
    const auth = `Basic ${Buffer.from(`default:${PASSWORD}`).toString('base64')}`
    const heads = [
      `INSERT INTO FUNCTION file('${join(dir, 'evil.bin')}', 'RowBinary', 'a UInt8') FORMAT RowBinary`,
      `INSERT INTO st.points ${COLUMNS} FROM INFILE '${join(dir, 'evil.bin')}' FORMAT RowBinary`,
      'INSERT INTO {t:Identifier} FORMAT RowBinary',
    ]
    for (const head of heads) {
      const res = await fetch(`${url}/?query=${encodeURIComponent(head)}&param_t=st.points`, {
        method: 'POST',
        headers: { authorization: auth },
        body: new Uint8Array(rowBinary(POINTS)),
      })
      expect(res.status, head).toBe(400)
      expect(res.headers.get('x-clickhouse-exception-code')).toBe('36')
      expect(await res.text()).toMatch(
        /a RowBinary body is taken by INSERT INTO \[db\.\]table \[\(columns\)\] \[SETTINGS …\] FORMAT RowBinary only/,
      )
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('evil'))).toEqual([])
    // The statement and its binary data together in the body: the data would be read as text.
    const before = await stored()
    const inline = await fetch(`${url}/`, {
      method: 'POST',
      headers: { authorization: auth },
      body: new Uint8Array(
        Buffer.concat([
          Buffer.from(`INSERT INTO st.points ${COLUMNS} FORMAT RowBinary\n`),
          rowBinary(POINTS),
        ]),
      ),
    })
    expect(inline.status).toBe(400)
    expect(await inline.text()).toMatch(/RowBinary data is taken only with its INSERT in the query parameter/)
    expect(await stored()).toEqual(before)
  })

  it('takes every binary format the engine writes, several inserts at once', async () => {
    const formats = [
      'Native',
      'RowBinaryWithNamesAndTypes',
      'RowBinaryWithNames',
      'ArrowStream',
      'Arrow',
      'Parquet',
    ]
    await Promise.all(
      formats.map(async (format, i) => {
        // The engine's own bytes of the stored rows, in this format, inserted again shifted in time.
        const out = await client.exec({
          query: `SELECT tenant, series_id, ts + toIntervalSecond(${String(1000 * (i + 1))}) AS ts, value
                  FROM st.points WHERE tenant = 'acme' ORDER BY ts FORMAT ${format}`,
        })
        const chunks: Buffer[] = []
        for await (const chunk of out.stream as AsyncIterable<Buffer>) chunks.push(chunk)
        const result = await client.exec({
          query: `INSERT INTO st.points_copy ${COLUMNS}${dedup(`copy-${format}`)} FORMAT ${format}`,
          values: Readable.from([Buffer.concat(chunks)]),
        })
        await finished(result.stream.resume())
      }),
    )
    const rs = await client.query({
      query: `SELECT toUInt32(count()) AS n FROM (
                SELECT series_id, ts, value FROM st.points_copy
                EXCEPT
                SELECT series_id, ts + toIntervalSecond(1000 * k), value FROM st.points
                ARRAY JOIN range(1, 7) AS k WHERE tenant = 'acme')`,
      format: 'JSONEachRow',
    })
    expect(await rs.json()).toEqual([{ n: 0 }])
    const count = await client.query({
      query: `SELECT toUInt32((SELECT count() FROM st.points_copy)) AS copies,
                     toUInt32((SELECT count() FROM st.points WHERE tenant = 'acme')) AS acme`,
      format: 'JSONEachRow',
    })
    const [counts] = await count.json<{ copies: number; acme: number }>()
    expect(counts?.copies).toBe((counts?.acme ?? 0) * formats.length)
    expect(counts?.acme).toBeGreaterThan(0)
    expect(readdirSync(executor.spoolDir)).toEqual([])
  })
})
