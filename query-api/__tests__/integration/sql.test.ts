/**
 * POST /api/v1/sql sees only the key's tenant, through the real query API on embedded ClickHouse.
 * Two tenants share it with hosts of the same names; globex also has an API key in the key table and
 * there is a secret file on disk. An adversarial suite (reads outside the scoped tables in every
 * position, statements and clauses outside the subset, multi-statement texts with side effects,
 * predicates that would throw on globex's rows, names full of the engine's words, resource
 * exhaustion) asserts for each: nothing of globex, no secret, no side effect, no 5xx, and a healthy
 * service after. Rows of globex stored under acme's series ids, and series rows of each tenant under
 * the other's ids (what a 64-bit hash collision would make), sit beside them throughout. Inserts
 * beside it prove its settings do not stay behind.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { KeyStore } from '#platform/auth/key-store.ts'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { ClickHouseSink, addPoint, newRowBatch } from '#test/support/store-rows.ts'
import { canonicalLabels, microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { seriesId } from '#schemas/src/series-id.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { buildQueryApi } from '../../src/server.ts'

const DB = 'sqlscope'
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0)
// What only globex has: any of these in an answer to acme is a leak.
const SECRET_VALUE = 987654.321
const SECRET_LABEL = 'globex-secret-disk'
const SECRET_HOSTNAME = 'globex-hostname-secret'
const secretDir = mkdtempSync(join(tmpdir(), 'procstream-sql-secret-'))
const SECRET_FILE = join(secretDir, 'secret.txt')
const secretFileContent = `procstream-secret-${randomBytes(12).toString('hex')}`
let globexKeyId = 'not-yet-made'

let db: EmbeddedClickHouse
let clickhouse: ClickHouseClient
let app: FastifyInstance
let url: string
let acmeKey: string
let sink: ClickHouseSink

function rows(tenant: string, value: number, label: string, hostname: string, offsetS: number) {
  const batch = newRowBatch()
  for (let i = 0; i < 120; i++) {
    const tsUs = (T0 + (offsetS + i) * 1000) * 1000
    const ts = microsToDateTime64(tsUs)
    for (const host of ['web-1', 'web-2']) {
      addPoint(batch, { tenant, metric: 'node_load1', host, labels: '{}', tsUs, value })
      const labels = canonicalLabels({ device: label })
      addPoint(batch, { tenant, metric: 'node_disk_read_bytes_total', host, labels, tsUs, value: value * i })
      batch.log.push([
        tenant,
        host,
        hostname,
        `a-${host}`,
        offsetS + i,
        'load',
        ts,
        2,
        0,
        String(i),
        'sqlscope',
      ])
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
  await storeCollisions()
  writeFileSync(SECRET_FILE, `${secretFileContent}\n`)
  const store = new KeyStore(clickhouse, DB)
  await store.createTenant('globex')
  globexKeyId = (await store.createKey({ tenant: 'globex', scopes: ['read'] })).info.keyId
  const { auth, keys } = await memoryKeys([{ tenant: 'acme', scopes: ['read', 'sql'] }])
  acmeKey = keys[0] as string
  app = await buildQueryApi({
    clickhouse,
    sqlClickhouse: db.sqlClickhouse,
    database: DB,
    keys: auth,
    logger: createLogger('it-sql', { level: 'silent' }),
    maxPoints: 1000,
    readiness: [],
    sql: {
      maxQueryChars: 8192,
      maxRows: 100,
      maxExecutionSeconds: 10,
      maxMemoryBytes: 512 * 1024 ** 2,
      maxResultBytes: 8 * 1024 ** 2,
      maxConcurrentPerTenant: 2,
    },
  })
  url = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await app.close()
  await db.close()
  rmSync(secretDir, { recursive: true, force: true })
})

/**
 * What two tenants' series sharing an id would leave in the store, written straight into the tables:
 * globex's secret value under acme's web-1 node_load1 id (raw and in every tier), a globex series row
 * naming that id with the secret label, and an acme series row (host web-9) naming globex's id. A read
 * scoped by the ids alone, or by the tenant column alone, would show acme one of them.
 */
async function storeCollisions(): Promise<void> {
  const acme = seriesId('acme', 'node_load1', 'web-1', '{}').toString()
  const globex = seriesId('globex', 'node_load1', 'web-1', '{}').toString()
  const ts = `fromUnixTimestamp64Micro(${String((T0 + 30_000) * 1000)}, 'UTC')`
  for (const table of ['points', 'points_tier_feed'])
    await clickhouse.command({
      query: `INSERT INTO ${DB}.${table} (tenant, series_id, ts, value) SELECT 'globex', ${acme}, ${ts}, ${SECRET_VALUE}`,
    })
  await clickhouse.command({
    query: `INSERT INTO ${DB}.series (tenant, metric, host, labels, series_id, day)
      SELECT 'globex', 'node_load1', 'web-1', '${canonicalLabels({ device: SECRET_LABEL })}', ${acme}, toDate(${ts})
      UNION ALL SELECT 'acme', 'node_load1', 'web-9', '{}', ${globex}, toDate(${ts})`,
  })
}

/** What a side effect would change: the tables, their row counts and the keys. */
async function state(): Promise<unknown> {
  const rs = await clickhouse.query({
    query: `SELECT name, total_rows FROM system.tables WHERE database = {db:String} ORDER BY name`,
    query_params: { db: DB },
    format: 'JSONEachRow',
  })
  return { tables: await rs.json(), keys: await new KeyStore(clickhouse, DB).listKeys() }
}

async function expectHealthy(): Promise<void> {
  expect((await fetch(`${url}/healthz`)).status).toBe(200)
  const res = await sql("SELECT count() FROM metrics WHERE metric = 'node_load1'")
  expect(res.status, res.text).toBe(200)
}

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
    const labels = await sql('SELECT DISTINCT labels FROM metrics ORDER BY labels')
    expect(labels.body.rows).toEqual([['{"device":"sda"}'], ['{}']])
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

  it('shows the columns and types the tables had before the series-id layout', async () => {
    const types = async (table: string): Promise<unknown> =>
      (await sql(`SELECT * FROM ${table} LIMIT 1`)).body.columns
    expect(await types('metrics')).toEqual([
      { name: 'metric', type: 'LowCardinality(String)' },
      { name: 'host', type: 'LowCardinality(String)' },
      { name: 'labels', type: 'LowCardinality(String)' },
      { name: 'ts', type: "DateTime64(6, 'UTC')" },
      { name: 'value', type: 'Float64' },
    ])
    expect(await types('rollup_10s')).toEqual([
      { name: 'metric', type: 'LowCardinality(String)' },
      { name: 'host', type: 'LowCardinality(String)' },
      { name: 'labels', type: 'LowCardinality(String)' },
      { name: 'bucket', type: "DateTime('UTC')" },
      { name: 'min', type: 'SimpleAggregateFunction(min, Float64)' },
      { name: 'max', type: 'SimpleAggregateFunction(max, Float64)' },
      { name: 'sum', type: 'Float64' },
      { name: 'count', type: 'UInt64' },
      { name: 'last', type: 'Float64' },
    ])
  })

  it('answers the same with the WHERE also applied inside the tables as without', async () => {
    const since = `toDateTime64('${new Date(T0 + 60_000).toISOString().slice(0, 19).replace('T', ' ')}', 6, 'UTC')`
    const wheres = [
      "metric = 'node_load1'",
      "metric = 'node_disk_read_bytes_total' AND JSONExtractString(labels, 'device') = 'sda' AND value BETWEEN 10 AND 100",
      "host IN ('web-2') OR startsWith(host, 'zz')",
      `NOT metric LIKE 'node_load%' AND ts >= ${since}`,
      "labels IS NOT NULL AND value > 3 AND host != 'web-9'",
    ]
    for (const table of ['metrics', 'rollup_10s', 'rollup_1m']) {
      const time = table === 'metrics' ? 'ts' : 'bucket'
      const value = table === 'metrics' ? 'value' : 'max'
      for (const where of wheres) {
        const w = where.replaceAll('ts >=', `${time} >=`).replaceAll('value', value)
        const agg = `host, metric, count(), sum(${value}) FROM`
        const tail = `WHERE ${w} GROUP BY host, metric ORDER BY host, metric`
        const direct = await sql(`SELECT ${agg} ${table} ${tail}`)
        // From a CTE nothing is copied into the table's body (prefilter.ts).
        const whole = await sql(`WITH t AS (SELECT * FROM ${table}) SELECT ${agg} t ${tail}`)
        expect(direct.status, `${table} ${w}: ${direct.text}`).toBe(200)
        expect((direct.body.rows as unknown[]).length, `${table} ${w}`).toBeGreaterThan(0)
        expect(direct.body.rows, `${table} ${w}`).toEqual(whole.body.rows)
      }
    }
  })

  it('cuts answers at the row limit and says so', async () => {
    const res = await sql('SELECT * FROM metrics')
    expect(res.status).toBe(200)
    expect((res.body.rows as unknown[]).length).toBe(100)
    expect(res.body.truncated).toBe(true)
  })

  /** Every way to name something outside the scoped tables. */
  const FORBIDDEN_SOURCES = [
    `${DB}.points`,
    'points',
    `\`${DB}\`.\`points\``,
    `"${DB}"."points"`,
    `${DB}.series`,
    'series',
    `${DB}.points_1m`,
    'points_tier_feed',
    `${DB}.sample_log`,
    `${DB}.metrics_raw`,
    'metrics_1m',
    `${DB}.api_keys`,
    'api_keys',
    `${DB}.tenants`,
    'tenants',
    'system.tables',
    'system.parts',
    'system.query_log',
    'system.settings',
    'system.users',
    'system.one',
    'information_schema.tables',
    'INFORMATION_SCHEMA.COLUMNS',
    `file('${SECRET_FILE}', 'LineAsString')`,
    "url('http://127.0.0.1:1/', CSV, 'a String')",
    `remote('127.0.0.1', ${DB}.points)`,
    `cluster('default', ${DB}.series)`,
    "s3('http://127.0.0.1:1/b/f.csv')",
    `merge('${DB}', '.*')`,
    'numbers(10)',
    `view(SELECT * FROM ${DB}.points)`,
    `mergeTreeIndex('${DB}', 'points')`,
    "input('a String')",
    "generateRandom('a String')",
    "executable('cat /etc/passwd', 'LineAsString', 'x String')",
    "postgresql('127.0.0.1:1', 'd', 't', 'u', 'p')",
    'mеtrics', // a Cyrillic е
  ]
  /** Every position a table can take in a query. */
  const POSITIONS: [string, (src: string) => string][] = [
    ['FROM', (x) => `SELECT * FROM ${x}`],
    ['JOIN', (x) => `SELECT m.value FROM metrics AS m JOIN ${x} AS r ON m.host = r.host`],
    ['comma join', (x) => `SELECT count() FROM metrics, ${x}`],
    ['IN subquery', (x) => `SELECT * FROM metrics WHERE host IN (SELECT host FROM ${x})`],
    ['NOT IN subquery', (x) => `SELECT * FROM metrics WHERE host NOT IN (SELECT 'x' FROM ${x})`],
    ['scalar subquery', (x) => `SELECT (SELECT count() FROM ${x}) AS v`],
    ['EXISTS', (x) => `SELECT 1 WHERE EXISTS (SELECT 1 FROM ${x})`],
    ['UNION', (x) => `SELECT value FROM metrics UNION ALL SELECT 1 FROM ${x}`],
    ['CTE', (x) => `WITH c AS (SELECT * FROM ${x}) SELECT * FROM c`],
    ['CTE shadowing', (x) => `WITH metrics AS (SELECT * FROM ${x}) SELECT * FROM metrics`],
    ['FROM subquery', (x) => `SELECT * FROM (SELECT * FROM ${x})`],
    ['IN table', (x) => `SELECT * FROM metrics WHERE host IN ${x}`],
  ]
  const SOURCE_CASES: [string, string][] = FORBIDDEN_SOURCES.flatMap((src) =>
    POSITIONS.map(([where, make]): [string, string] => [`${src} in ${where}`, make(src)]),
  )

  /** Statements that are not one SELECT, features outside the subset, and functions off the list. */
  const REFUSED: [string, string][] = [
    ['settings override', 'SELECT * FROM metrics SETTINGS readonly = 0'],
    ['settings in subquery', 'SELECT * FROM (SELECT * FROM metrics SETTINGS max_memory_usage = 0)'],
    ['settings in CTE', 'WITH c AS (SELECT 1 SETTINGS readonly = 0) SELECT * FROM c'],
    ['settings in scalar', 'SELECT (SELECT 1 SETTINGS max_threads = 64)'],
    ['format clause', 'SELECT * FROM metrics FORMAT CSV'],
    ['format in subquery', 'SELECT * FROM (SELECT 1 FORMAT TSV)'],
    ['into outfile', "SELECT * FROM metrics INTO OUTFILE '/tmp/procstream-outfile'"],
    ['into outfile append', "SELECT 1 INTO OUTFILE '/tmp/procstream-outfile' APPEND"],
    ['from infile', "INSERT INTO x FROM INFILE '/etc/passwd' FORMAT CSV"],
    ['breakout', `SELECT 1) UNION ALL (SELECT value FROM ${DB}.points`],
    ['breakout with comment', `SELECT 1 FROM metrics) UNION ALL SELECT value FROM ${DB}.points --`],
    ['line comment', `SELECT value FROM metrics -- \n UNION ALL SELECT value FROM ${DB}.points`],
    ['tenant column', "SELECT * FROM metrics WHERE tenant = 'globex'"],
    ['tenant column qualified', 'SELECT metrics.tenant FROM metrics'],
    ['internal alias', `SELECT __ps_src.tenant FROM metrics`],
    ['reserved alias', `SELECT 1 AS __ps_src`],
    ['database-qualified column', `SELECT ${DB}.points.value FROM metrics`],
    ['query parameter', 'SELECT {procstream_tenant:String}'],
    ['query parameter in where', 'SELECT * FROM metrics WHERE host = {h:String}'],
    ['insert', `INSERT INTO ${DB}.points VALUES ('acme', 1, now(), 1)`],
    ['drop', `DROP TABLE ${DB}.points`],
    ['truncate', `TRUNCATE TABLE ${DB}.points`],
    ['alter', `ALTER TABLE ${DB}.points DELETE WHERE 1`],
    ['create', `CREATE TABLE ${DB}.pwned (a Int8) ENGINE = Memory`],
    ['create user', 'CREATE USER pwned'],
    ['grant', 'GRANT ALL ON *.* TO default'],
    ['set', 'SET readonly = 0'],
    ['use', 'USE system'],
    ['explain', `EXPLAIN SELECT * FROM ${DB}.points`],
    ['explain syntax', 'EXPLAIN SYNTAX SELECT 1'],
    ['show', 'SHOW TABLES'],
    ['show create', `SHOW CREATE TABLE ${DB}.api_keys`],
    ['describe', `DESCRIBE ${DB}.points`],
    ['system command', 'SYSTEM DROP DNS CACHE'],
    ['system shutdown', 'SYSTEM SHUTDOWN'],
    ['kill', 'KILL QUERY ALL'],
    ['optimize', `OPTIMIZE TABLE ${DB}.points FINAL`],
    ['exists statement', `EXISTS ${DB}.points`],
    ['check', `CHECK TABLE ${DB}.points`],
    ['backup', `BACKUP TABLE ${DB}.api_keys TO File('x')`],
    ['attach', "ATTACH TABLE x FROM '/etc' (a String) ENGINE = File(LineAsString)"],
    ['file function', `SELECT file('${SECRET_FILE}')`],
    ['dictGet', "SELECT dictGet('d', 'v', toUInt64(1))"],
    ['joinGet', "SELECT joinGet('t', 'v', 1)"],
    ['getSetting', "SELECT getSetting('max_memory_usage')"],
    ['getServerSetting', "SELECT getServerSetting('path')"],
    ['hasColumnInTable', `SELECT hasColumnInTable('${DB}', 'api_keys', 'hash')`],
    ['currentDatabase', 'SELECT currentDatabase()'],
    ['hostName', 'SELECT hostName()'],
    ['version', 'SELECT version()'],
    ['throwIf', "SELECT throwIf(host = 'web-1') FROM metrics"],
    ['sleep', 'SELECT sleep(3)'],
    ['sleepEachRow', 'SELECT sleepEachRow(1) FROM metrics'],
    ['in function form', `SELECT in(host, ${DB}.points) FROM metrics`],
    ['arrayReduce naming a function', "SELECT arrayReduce('sum', [1])"],
    ['aggregate state', 'SELECT sumState(value) FROM metrics'],
    ['introspection', 'SELECT addressToSymbol(1)'],
    ['unknown function', 'SELECT procstreamNoSuchFunction(1)'],
    ['FINAL', 'SELECT * FROM metrics FINAL'],
    ['SAMPLE', 'SELECT * FROM metrics SAMPLE 0.1'],
    ['PREWHERE', "SELECT * FROM metrics PREWHERE host = 'web-1'"],
    ['ARRAY JOIN', 'SELECT * FROM metrics ARRAY JOIN [1, 2] AS x'],
    ['GLOBAL IN', 'SELECT * FROM metrics WHERE host GLOBAL IN (SELECT host FROM metrics)'],
    ['LIMIT BY', 'SELECT * FROM metrics LIMIT 1 BY host'],
    ['WITH TOTALS', 'SELECT host, count() FROM metrics GROUP BY host WITH TOTALS'],
    ['named window', 'SELECT sum(value) OVER w FROM metrics WINDOW w AS (PARTITION BY host)'],
    ['two statements', `SELECT 1; SELECT * FROM ${DB}.points`],
    ['empty', '   '],
    ['not SQL', 'hello world'],
    ['huge', `SELECT 1 ${' '.repeat(9000)}`],
    ['deep nesting', `SELECT ${'('.repeat(3000)}1${')'.repeat(3000)}`],
    // Formatted, 26 nested BETWEENs would take the engine 75 s and 2.4 GB (platform/clickhouse-format.ts).
    [
      'nested BETWEEN',
      `SELECT ${Array.from({ length: 26 }).reduce<string>((q) => `(${q} BETWEEN 1 AND 2)`, 'value')} FROM metrics`,
    ],
    ['deep subqueries', `SELECT ${'(SELECT '.repeat(100)}1${')'.repeat(100)}`],
  ]

  /** Multi-statement texts whose second statement would change something: nothing may change. */
  const SIDE_EFFECTS: [string, string][] = [
    ['insert a key', `SELECT 1; INSERT INTO ${DB}.api_keys (key_id, tenant) VALUES ('pwned', 'globex')`],
    ['create a table', `SELECT 1; CREATE TABLE ${DB}.pwned (a Int8) ENGINE = Memory`],
    ['create a table after a comment', `SELECT 1 -- x\n; CREATE TABLE ${DB}.pwned2 (a Int8) ENGINE = Memory`],
    ['drop the points table', `SELECT 1; DROP TABLE ${DB}.points`],
    ['delete rows', `SELECT 1; ALTER TABLE ${DB}.points DELETE WHERE tenant = 'globex'`],
    ['delete series', `SELECT 1; ALTER TABLE ${DB}.series DELETE WHERE 1`],
    ['truncate keys', `SELECT count() FROM metrics; TRUNCATE TABLE ${DB}.api_keys`],
    ['write a file', `SELECT 1; SELECT 2 INTO OUTFILE '/tmp/procstream-pwned-${process.pid}'`],
    ['create a user', "SELECT 1; CREATE USER pwned IDENTIFIED BY 'x'"],
    ['in a string', `SELECT 'a'; CREATE TABLE ${DB}.pwned3 (a Int8) ENGINE = Memory; SELECT 'b'`],
  ]

  /**
   * Predicates that throw only on a row of globex: if any were evaluated on globex's rows (pushed
   * down below the tenant filter), the query would fail. They must answer over acme's rows alone.
   */
  const ORACLES: [string, string][] = [
    [
      'division by zero on the secret value',
      `SELECT count() FROM metrics WHERE intDiv(1, if(value = ${SECRET_VALUE}, 0, 1)) = 1`,
    ],
    [
      'bad cast on the secret label',
      `SELECT count() FROM metrics WHERE toUInt8(if(labels LIKE '%${SECRET_LABEL}%', 'x', '1')) = 1`,
    ],
    [
      'bad cast on the secret hostname',
      `SELECT count() FROM samples WHERE toInt32(if(hostname = '${SECRET_HOSTNAME}', 'boom', '7')) = 7`,
    ],
    [
      'in a join condition',
      `SELECT count() FROM metrics AS a JOIN samples AS b ON a.host = b.host AND intDiv(1, if(a.value = ${SECRET_VALUE}, 0, 1)) = 1 WHERE a.metric = 'node_load1' AND b.seq = 1`,
    ],
    ['in a rollup', `SELECT count() FROM rollup_1m WHERE intDiv(1, if(max = ${SECRET_VALUE}, 0, 1)) = 1`],
    [
      'in a subquery',
      `SELECT count() FROM (SELECT * FROM metrics) WHERE intDiv(1, if(value = ${SECRET_VALUE}, 0, 1)) = 1`,
    ],
    [
      'in a CTE',
      `WITH x AS (SELECT value FROM metrics WHERE intDiv(1, if(value = ${SECRET_VALUE}, 0, 1)) = 1) SELECT count() FROM x`,
    ],
    [
      'in HAVING',
      `SELECT host, max(value) AS m FROM metrics GROUP BY host HAVING intDiv(1, if(m = ${SECRET_VALUE}, 0, 1)) = 1`,
    ],
    [
      'on a host name',
      `SELECT count() FROM samples WHERE toUInt8(if(hostname != 'acme-host', 'x', '1')) = 1`,
    ],
    [
      'beside a condition applied to the series',
      `SELECT count() FROM metrics WHERE metric = 'node_disk_read_bytes_total' AND toUInt8(if(labels LIKE '%${SECRET_LABEL}%', 'x', '1')) = 1`,
    ],
    [
      'beside conditions applied to the series and the points, on the collided series',
      `SELECT count() FROM metrics WHERE host = 'web-1' AND metric = 'node_load1' AND ts > toDateTime64(0, 6) AND intDiv(1, if(value = ${SECRET_VALUE}, 0, 1)) = 1`,
    ],
    [
      'in a rollup, beside conditions applied to the series and the buckets',
      `SELECT count() FROM rollup_10s WHERE host = 'web-1' AND bucket > toDateTime(0) AND toUInt8(if(labels LIKE '%${SECRET_LABEL}%' OR last = ${SECRET_VALUE}, 'x', '1')) = 1`,
    ],
  ]

  /** Names holding newlines, commas and the words of the engine's dumps: data, never structure. */
  const NAMES: [string, string][] = [
    ['alias with newline', 'SELECT host AS `x\n    TABLE id: 3, table_name: sqlscope.points` FROM metrics'],
    ['alias with dump words', 'SELECT 1 AS `QUERY id: 0, is_cte: 1, cte_name: metrics`'],
    ['alias with comma', 'SELECT host AS `a, tenant` FROM metrics'],
    ['alias with backtick', 'SELECT host AS `a``b` FROM metrics'],
    ['alias with backslash', 'SELECT host AS `a\\\\` FROM metrics'],
    ['block comment hiding a breakout', `SELECT 1 /* ) UNION ALL SELECT value FROM ${DB}.points */`],
    ['string with quote', "SELECT 'it''s' AS s, '\\' OR 1 --' AS t"],
    ['string with newline', "SELECT 'a\nb'"],
    ['string with NUL', "SELECT 'a\\0b'"],
    ['table alias with dots', 'SELECT `a.b`.host FROM metrics AS `a.b`'],
    [
      'CTE named with dump words',
      'WITH `TABLE id: 1, table_name: sqlscope.api_keys` AS (SELECT host FROM metrics) SELECT * FROM `TABLE id: 1, table_name: sqlscope.api_keys`',
    ],
  ]

  /** Answers the server may not give any tenant: another tenant's data, a secret, a file's content. */
  function assertClean(
    name: string,
    res: { status: number; text: string; body: Record<string, unknown> },
  ): void {
    expect(leaks(res.status, res.text), `${name}: ${res.text.slice(0, 500)}`).toBe(false)
    expect(res.text, name).not.toContain(secretFileContent)
    expect(res.text, name).not.toContain('root:x:0:0')
    expect(res.text, name).not.toContain('scrypt$')
    expect(res.text, name).not.toContain(globexKeyId)
    expect([200, 400, 429], `${name}: ${res.text.slice(0, 300)}`).toContain(res.status)
    if (res.status === 400) {
      expect(res.body.code, name).toBe('SQL_REJECTED')
      expect(typeof res.body.error, name).toBe('string')
    }
  }

  it(`refuses ${SOURCE_CASES.length} reads outside the scoped tables, in every position, naming what to read`, async () => {
    for (const [name, query] of SOURCE_CASES) {
      const res = await sql(query)
      assertClean(name, res)
      expect(res.status, `${name}: ${res.text.slice(0, 300)}`).toBe(400)
    }
    const res = await sql(`SELECT * FROM ${DB}.points`)
    expect(res.body.error).toMatch(/metrics, rollup_10s, rollup_1m, rollup_1h, samples/)
    await expectHealthy()
  })

  it(`refuses ${REFUSED.length} statements, clauses and functions outside the subset`, async () => {
    for (const [name, query] of REFUSED) {
      const res = await sql(query)
      assertClean(name, res)
      expect(res.status, `${name}: ${res.text.slice(0, 300)}`).toBe(400)
      // The project's words: no engine exception text, stack or code in a refusal.
      expect(res.text, name).not.toMatch(/DB::Exception|Code: \d+|In scope|formatQuerySingleLine/)
    }
    await expectHealthy()
  })

  it(`runs nothing of ${SIDE_EFFECTS.length} multi-statement texts: no table, row, key or file changes`, async () => {
    const before = await state()
    for (const [name, query] of SIDE_EFFECTS) {
      const res = await sql(query)
      assertClean(name, res)
      expect(res.status, name).toBe(400)
      expect(res.body.error, name).toBe('only one statement is accepted')
    }
    expect(await state()).toEqual(before)
    expect(existsSync(`/tmp/procstream-pwned-${process.pid}`)).toBe(false)
    await expectHealthy()
  })

  it(`evaluates no predicate on another tenant's rows (${ORACLES.length} would throw there)`, async () => {
    for (const [name, query] of ORACLES) {
      const res = await sql(query)
      assertClean(name, res)
      expect(res.status, `${name}: ${res.text.slice(0, 400)}`).toBe(200)
    }
    const load = await sql(
      `SELECT count() FROM metrics WHERE intDiv(1, if(value = ${SECRET_VALUE}, 0, 1)) = 1 AND metric = 'node_load1'`,
    )
    expect(numbers(load.body.rows)).toEqual([[240]])
  })

  it('keeps names and strings as data, whatever they hold', async () => {
    for (const [name, query] of NAMES) {
      const res = await sql(query)
      assertClean(name, res)
      expect(res.status, `${name}: ${res.text.slice(0, 300)}`).toBe(200)
    }
    const alias = await sql(
      'SELECT host AS `x\n    TABLE id: 3, table_name: sqlscope.points` FROM metrics LIMIT 1',
    )
    expect((alias.body.columns as { name: string }[])[0]?.name).toBe(
      'x\n    TABLE id: 3, table_name: sqlscope.points',
    )
    const strings = await sql("SELECT 'it''s' AS s, 'a\\nb' AS t")
    expect(strings.body.rows).toEqual([["it's", 'a\nb']])
  })

  it('an error of an admitted query carries only the tenant’s own values', async () => {
    for (const query of [
      "SELECT CAST(host, 'Enum8(\\'x\\' = 1)') FROM samples",
      'SELECT toUInt8(hostname) FROM samples',
      "SELECT toDateTime(labels) FROM metrics WHERE labels != '{}'",
      "SELECT CAST(labels, 'Array(UInt8)') FROM metrics",
      "SELECT extract(hostname, '(') FROM samples",
      'SELECT toUInt8(toString(value)) FROM metrics',
    ]) {
      const res = await sql(query)
      assertClean(query, res)
      expect(res.status, query).toBe(400)
      expect(res.body.error as string, query).toMatch(/^the query failed: /)
    }
  })

  it('bounds time, memory and answer size, and the service stays up', async () => {
    const started = Date.now()
    for (const query of [
      'SELECT count() FROM metrics AS a, metrics AS b, metrics AS c, metrics AS d',
      'SELECT length(arrayMap(x -> toString(x), range(100000000)))',
      "SELECT groupArray(repeat('x', 1000000)) FROM metrics AS a, metrics AS b",
      'SELECT repeat(host, 100000) FROM metrics AS a, metrics AS b',
      `SELECT * FROM metrics WHERE host IN (${Array.from({ length: 2000 }, (_, i) => `'h${String(i)}'`).join(', ')})`,
    ]) {
      const res = await sql(query)
      assertClean(query, res)
    }
    // The time limit of the test's API is 10 s per query.
    expect(Date.now() - started).toBeLessThan(60_000)
    const big = await sql('SELECT repeat(host, 100000) FROM metrics AS a, metrics AS b')
    expect(big.status).toBe(400)
    await expectHealthy()
  })

  it('runs at most two queries of a tenant at once; a third gets 429 with Retry-After', async () => {
    const slow = 'SELECT count() FROM metrics AS a, metrics AS b, metrics AS c'
    const answers = await Promise.all([sql(slow), sql(slow), sql(slow), sql(slow)])
    const busy = answers.filter((a) => a.status === 429)
    expect(busy.length).toBeGreaterThan(0)
    for (const b of busy) expect(b.body.code).toBe('SQL_BUSY')
    await expectHealthy()
  })

  it('answers SELECT without FROM, joins, subqueries, CTEs, windows and lambdas over the tenant’s tables', async () => {
    expect((await sql('SELECT now()')).status).toBe(200)
    const join = await sql(
      "SELECT m.host, count() AS n FROM metrics AS m INNER JOIN samples AS s ON m.host = s.host AND m.ts = s.ts WHERE m.metric = 'node_load1' GROUP BY m.host ORDER BY m.host",
    )
    expect(numbers(join.body.rows).map((r) => r[1])).toEqual([120, 120])
    const cte = await sql(
      "WITH hot AS (SELECT host, max(value) AS peak FROM metrics WHERE metric = 'node_load1' GROUP BY host) SELECT count() FROM hot WHERE peak > 1 AND host IN (SELECT host FROM samples) AND EXISTS (SELECT 1 FROM rollup_10s)",
    )
    expect(numbers(cte.body.rows)).toEqual([[2]])
    const window = await sql(
      "SELECT host, ts, value - lagInFrame(value) OVER (PARTITION BY host ORDER BY ts ASC ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS d FROM metrics WHERE metric = 'node_disk_read_bytes_total' ORDER BY host, ts LIMIT 3 OFFSET 1",
    )
    expect(window.status, window.text).toBe(200)
    expect((window.body.rows as unknown[][]).map((r) => Number(r[2]))).toEqual([1.5, 1.5, 1.5])
    const lambda = await sql(
      "SELECT arrayMap(x -> x * 2, [1, 2]), quantile(0.5)(value), countIf(value > 1), CASE WHEN 1 = 1 THEN 'y' ELSE 'n' END, 2 BETWEEN 1 AND 3, host || '!' FROM metrics WHERE metric = 'node_load1' GROUP BY host ORDER BY host",
    )
    expect(lambda.status, lambda.text).toBe(200)
    expect((lambda.body.rows as unknown[][])[0]?.slice(3)).toEqual(['y', 1, 'web-1!'])
  })

  it('leaves no setting behind: inserts still work after SQL ran in the same session', async () => {
    await sql('SELECT count() FROM metrics')
    await sink.write(rows('acme', 2.5, 'sdb', 'acme-host', 1000), 'acme-2')
    const res = await sql("SELECT count() FROM metrics WHERE metric = 'node_load1'")
    expect(numbers(res.body.rows)).toEqual([[480]])
  })
})
