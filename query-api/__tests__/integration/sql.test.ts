/**
 * POST /api/v1/sql sees only the key's tenant. Two tenants share embedded ClickHouse, with hosts of
 * the same names; every query of an adversarial list is either refused or answers without a single
 * value, host or label of the other tenant. The SQL runs in the same process (and chdb session) as
 * inserts, so the test also proves its limits do not stay behind and break the next insert.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../platform/logger.ts'
import { ClickHouseSink } from '../../../stream-processors/src/clickhouse-sink.ts'
import { canonicalLabels, microsToDateTime64, newRowBatch } from '../../../stream-processors/src/rows.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '../../../test/support/embedded-clickhouse.ts'
import { memoryKeys } from '../../../test/support/keys.ts'
import { buildQueryApi } from '../../src/server.ts'

const DB = 'sqlscope'
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0)
// What only globex has: any of these in an answer to acme is a leak.
const SECRET_VALUE = 987654.321
const SECRET_LABEL = 'globex-secret-disk'
const SECRET_HOSTNAME = 'globex-hostname-secret'

let db: EmbeddedClickHouse
let clickhouse: ClickHouseClient
let app: FastifyInstance
let url: string
let acmeKey: string
let sink: ClickHouseSink

function rows(tenant: string, value: number, label: string, hostname: string, offsetS: number) {
  const batch = newRowBatch()
  for (let i = 0; i < 120; i++) {
    const ts = microsToDateTime64((T0 + (offsetS + i) * 1000) * 1000)
    for (const host of ['web-1', 'web-2']) {
      batch.raw.push([tenant, 'node_load1', host, '{}', ts, value])
      batch.raw.push([
        tenant,
        'node_disk_read_bytes_total',
        host,
        canonicalLabels({ device: label }),
        ts,
        value * i,
      ])
      batch.log.push([tenant, host, hostname, `a-${host}`, offsetS + i, 'load', ts, 2, 0, String(i)])
    }
  }
  return batch
}

beforeAll(async () => {
  db = await openEmbeddedClickHouse(DB)
  clickhouse = db.clickhouse
  sink = new ClickHouseSink(clickhouse, DB)
  await sink.write(rows('acme', 1.5, 'sda', 'acme-host', 0), 'acme-1')
  await sink.write(rows('globex', SECRET_VALUE, SECRET_LABEL, SECRET_HOSTNAME, 0), 'globex-1')
  const { auth, keys } = await memoryKeys([{ tenant: 'acme', scopes: ['read'] }])
  acmeKey = keys[0] as string
  app = await buildQueryApi({
    clickhouse,
    database: DB,
    keys: auth,
    logger: createLogger('it-sql', { level: 'silent' }),
    maxPoints: 1000,
    readiness: [],
    sql: { maxQueryChars: 8192, maxRows: 100, maxExecutionSeconds: 10, maxMemoryBytes: 512 * 1024 ** 2 },
  })
  url = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app.close()
  await db.close()
})

async function sql(query: string): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/api/v1/sql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${acmeKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  })
  const text = await res.text()
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> }
}

function numbers(rows: unknown): number[][] {
  return (rows as unknown[][]).map((r) => r.map(Number))
}

/** A refusal may quote the query back, so the tenant's name counts as a leak only in an answer. */
function leaks(status: number, text: string): boolean {
  return (
    text.includes('987654') ||
    text.includes(SECRET_LABEL) ||
    text.includes(SECRET_HOSTNAME) ||
    (status === 200 && text.toLowerCase().includes('globex'))
  )
}

describe('tenant-scoped SQL', () => {
  it('answers over the tenant’s own tables', async () => {
    const count = await sql("SELECT count() AS n, sum(value) AS s FROM metrics WHERE metric = 'node_load1'")
    expect(count.status).toBe(200)
    // 64-bit integers come as JSON numbers from chdb and as strings from a server: compare numbers.
    expect(numbers(count.body.rows)).toEqual([[240, 360]])
    const hosts = await sql('SELECT DISTINCT host, hostname FROM samples ORDER BY host')
    expect(hosts.body.rows).toEqual([
      ['web-1', 'acme-host'],
      ['web-2', 'acme-host'],
    ])
    const rollup = await sql(
      "SELECT sum(count), max(max) FROM rollup_1m WHERE metric = 'node_load1' AND host = 'web-1'",
    )
    expect(numbers(rollup.body.rows)).toEqual([[120, 1.5]])
    const union = await sql('SELECT host FROM metrics UNION DISTINCT SELECT host FROM samples ORDER BY host;')
    expect(union.body.rows).toEqual([['web-1'], ['web-2']])
    const tables = await fetch(`${url}/api/v1/sql/tables`, {
      headers: { authorization: `Bearer ${acmeKey}` },
    })
    expect(((await tables.json()) as { tables: { name: string }[] }).tables.map((t) => t.name)).toEqual([
      'metrics',
      'rollup_10s',
      'rollup_1m',
      'rollup_1h',
      'samples',
    ])
  })

  it('cuts answers at the row limit and says so', async () => {
    const res = await sql('SELECT * FROM metrics')
    expect(res.status).toBe(200)
    expect((res.body.rows as unknown[]).length).toBe(100)
    expect(res.body.truncated).toBe(true)
  })

  const ADVERSARIAL: [string, string][] = [
    ['direct table', `SELECT * FROM ${DB}.metrics_raw`],
    ['direct table, unqualified', 'SELECT * FROM metrics_raw'],
    ['sample log', `SELECT * FROM ${DB}.sample_log`],
    ['keys table', `SELECT * FROM ${DB}.api_keys`],
    ['tenants table', 'SELECT * FROM tenants'],
    [
      'subquery in IN',
      `SELECT * FROM metrics WHERE host IN (SELECT host FROM ${DB}.metrics_raw WHERE tenant = 'globex')`,
    ],
    ['scalar subquery', `SELECT (SELECT max(value) FROM ${DB}.metrics_raw) AS v`],
    ['UNION with raw', `SELECT value FROM metrics UNION ALL SELECT value FROM ${DB}.metrics_raw`],
    ['JOIN raw', `SELECT m.value, r.value FROM metrics AS m JOIN ${DB}.metrics_raw AS r ON m.host = r.host`],
    ['own CTE shadowing', `WITH metrics AS (SELECT * FROM ${DB}.metrics_raw) SELECT * FROM metrics`],
    ['own CTE', `WITH x AS (SELECT * FROM ${DB}.metrics_raw) SELECT * FROM x`],
    ['system tables', 'SELECT * FROM system.tables'],
    ['system parts', 'SELECT * FROM system.parts'],
    ['query log', 'SELECT query FROM system.query_log'],
    ['information schema', 'SELECT * FROM information_schema.tables'],
    ['INFORMATION_SCHEMA', 'SELECT * FROM INFORMATION_SCHEMA.COLUMNS'],
    ['file()', "SELECT * FROM file('/etc/passwd', 'LineAsString')"],
    ['file() function', "SELECT file('/etc/passwd')"],
    ['url()', "SELECT * FROM url('http://127.0.0.1:1/', CSV, 'a String')"],
    ['remote()', `SELECT * FROM remote('127.0.0.1', ${DB}.metrics_raw)`],
    ['cluster()', `SELECT * FROM cluster('default', ${DB}.metrics_raw)`],
    ['s3()', "SELECT * FROM s3('http://127.0.0.1:1/b/f.csv')"],
    ['merge()', `SELECT * FROM merge('${DB}', '.*')`],
    ['numbers is a table function too', 'SELECT * FROM numbers(10)'],
    ['view()', `SELECT * FROM view(SELECT * FROM ${DB}.metrics_raw)`],
    ['dictionary', "SELECT dictGet('d', 'v', toUInt64(1))"],
    ['joinGet', "SELECT joinGet('t', 'v', 1)"],
    ['settings override', 'SELECT * FROM metrics SETTINGS readonly = 0'],
    ['settings in subquery', 'SELECT * FROM (SELECT * FROM metrics SETTINGS max_memory_usage = 0)'],
    ['format clause', 'SELECT * FROM metrics FORMAT CSV'],
    ['into outfile', "SELECT * FROM metrics INTO OUTFILE '/tmp/x'"],
    ['two statements', `SELECT 1; SELECT * FROM ${DB}.metrics_raw`],
    ['breakout', `SELECT 1) UNION ALL (SELECT value FROM ${DB}.metrics_raw`],
    ['breakout with comment', `SELECT 1 FROM metrics) UNION ALL SELECT value FROM ${DB}.metrics_raw --`],
    ['block comment breakout', `SELECT 1 /* ) UNION ALL SELECT value FROM ${DB}.metrics_raw */`],
    ['line comment hiding', `SELECT value FROM metrics -- \n UNION ALL SELECT value FROM ${DB}.metrics_raw`],
    ['quoted identifiers', `SELECT * FROM \`${DB}\`.\`metrics_raw\``],
    ['double-quoted identifiers', `SELECT * FROM "${DB}"."metrics_raw"`],
    ['unicode lookalike', 'SELECT * FROM mеtrics'],
    ['tenant column', "SELECT * FROM metrics WHERE tenant = 'globex'"],
    ['insert', `INSERT INTO ${DB}.metrics_raw VALUES ('acme', 'x', 'h', '{}', now(), 1)`],
    ['drop', `DROP TABLE ${DB}.metrics_raw`],
    ['alter', `ALTER TABLE ${DB}.metrics_raw DELETE WHERE 1`],
    ['create', 'CREATE TABLE x (a Int8) ENGINE = Memory'],
    ['set', 'SET readonly = 0'],
    ['explain', `EXPLAIN SELECT * FROM ${DB}.metrics_raw`],
    ['show', 'SHOW TABLES'],
    ['describe', `DESCRIBE ${DB}.metrics_raw`],
    ['system command', 'SYSTEM DROP DNS CACHE'],
    ['exists', `EXISTS ${DB}.metrics_raw`],
    ['query parameter of the scope', 'SELECT {__tenant:String}'],
    ['merge tree functions', `SELECT * FROM mergeTreeIndex('${DB}', 'metrics_raw')`],
    ['sleep', 'SELECT sleep(3)'],
    ['input()', "SELECT * FROM input('a String')"],
    ['generateRandom', "SELECT * FROM generateRandom('a String') LIMIT 1"],
    ['huge', `SELECT 1 ${' '.repeat(9000)}`],
  ]

  it.each(ADVERSARIAL)('%s: refused or clean', async (_name, query) => {
    const res = await sql(query)
    expect(leaks(res.status, res.text), res.text.slice(0, 500)).toBe(false)
    expect([200, 400]).toContain(res.status)
    if (res.status === 400) {
      expect(res.body.code).toBe('SQL_REJECTED')
      expect(typeof res.body.error).toBe('string')
    }
  })

  it('refuses every read outside the scoped tables with a message that says what to read', async () => {
    for (const [name, query] of ADVERSARIAL.slice(0, 27)) {
      const res = await sql(query)
      expect(res.status, `${name}: ${res.text.slice(0, 300)}`).toBe(400)
    }
    const res = await sql(`SELECT * FROM ${DB}.metrics_raw`)
    expect(res.body.error).toMatch(/metrics, rollup_10s, rollup_1m, rollup_1h, samples/)
  })

  it('leaves no setting behind: inserts still work after SQL ran in the same session', async () => {
    await sql('SELECT count() FROM metrics')
    await sink.write(rows('acme', 2.5, 'sdb', 'acme-host', 1000), 'acme-2')
    const res = await sql("SELECT count() FROM metrics WHERE metric = 'node_load1'")
    expect(numbers(res.body.rows)).toEqual([[480]])
  })
})
