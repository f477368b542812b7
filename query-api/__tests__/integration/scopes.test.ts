/**
 * Scopes and roles through the query API over the real key table on embedded ClickHouse: a tenant
 * admin key manages its own tenant's keys and nothing else (and the refused change did not happen),
 * an operator key manages every tenant, `sql` and not `read` opens ad-hoc SQL, and a read-only key
 * still reads series and the Prometheus API.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { KeyStore } from '#platform/auth/key-store.ts'
import { createLogger } from '#platform/logger.ts'
import { ClickHouseSink, addPoint, newRowBatch } from '#test/support/store-rows.ts'
import { microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { buildQueryApi } from '../../src/server.ts'

const DB = 'scopes'
const NOW = Date.now()

let db: EmbeddedClickHouse
let store: KeyStore
let auth: KeyAuthenticator
let app: FastifyInstance
let url = ''
const keys = { operator: '', acmeAdmin: '', acmeRead: '', acmeSql: '', globexRead: '', globexAdmin: '' }
let globexReadId = ''

beforeAll(async () => {
  db = await openEmbeddedClickHouse(DB)
  store = new KeyStore(db.clickhouse, DB)
  for (const tenant of ['ops', 'acme', 'globex']) await store.createTenant(tenant)
  const make = async (tenant: string, scopes: string[]) => store.createKey({ tenant, scopes })
  keys.operator = (await make('ops', ['operator'])).key
  keys.acmeAdmin = (await make('acme', ['admin'])).key
  keys.acmeRead = (await make('acme', ['read'])).key
  keys.acmeSql = (await make('acme', ['read', 'sql'])).key
  keys.globexAdmin = (await make('globex', ['admin'])).key
  const globexRead = await make('globex', ['read'])
  keys.globexRead = globexRead.key
  globexReadId = globexRead.info.keyId

  const batch = newRowBatch()
  for (let i = 0; i < 30; i++) {
    const tsUs = (NOW - (60 - i) * 1000) * 1000
    addPoint(batch, { tenant: 'acme', metric: 'node_load1', host: 'web-1', labels: '{}', tsUs, value: 1.5 })
    batch.log.push([
      'acme',
      'web-1',
      'web-1',
      'a-web-1',
      i,
      'load',
      microsToDateTime64(tsUs),
      1,
      0,
      String(i),
      'samples',
    ])
  }
  await new ClickHouseSink(db.clickhouse, DB).write(batch, 'acme-1')

  auth = new KeyAuthenticator(store, { refreshMs: 60_000, logger: createLogger('it', { level: 'silent' }) })
  await auth.start()
  app = await buildQueryApi({
    clickhouse: db.clickhouse,
    sqlClickhouse: db.sqlClickhouse,
    database: DB,
    keys: auth,
    admin: { keys: auth, store },
    logger: createLogger('it-scopes', { level: 'silent' }),
    maxPoints: 1000,
    readiness: [],
  })
  url = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  auth.stop()
  await app.close()
  await db.close()
})

async function call(
  key: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** The key table as stored, every version of every row: a refused request must leave it as it was. */
async function keyTable(): Promise<string> {
  const rs = await db.clickhouse.query({
    query: `SELECT * FROM ${DB}.api_keys ORDER BY key_id, version`,
    format: 'JSONEachRow',
  })
  return JSON.stringify(await rs.json())
}

const OWN_ONLY = { code: 'FORBIDDEN', error: "a tenant admin key manages its own tenant's keys only" }

describe('a tenant admin key', () => {
  it('cannot list or create tenants', async () => {
    const lacks = { code: 'FORBIDDEN', error: 'this API key lacks the operator scope' }
    expect(await call(keys.acmeAdmin, 'GET', '/api/v1/admin/tenants')).toEqual({ status: 403, body: lacks })
    expect(await call(keys.acmeAdmin, 'POST', '/api/v1/admin/tenants', { name: 'initech' })).toEqual({
      status: 403,
      body: lacks,
    })
    expect(await store.tenantExists('initech')).toBe(false)
  })

  it("lists its own tenant's keys only, and is refused alike for a tenant that exists and one that does not", async () => {
    const own = await call(keys.acmeAdmin, 'GET', '/api/v1/admin/keys')
    expect(own.status).toBe(200)
    const listed = own.body.keys as { tenant: string }[]
    expect(listed.length).toBe(3)
    expect(new Set(listed.map((k) => k.tenant))).toEqual(new Set(['acme']))
    expect((await call(keys.acmeAdmin, 'GET', '/api/v1/admin/keys?tenant=acme')).body).toEqual(own.body)
    for (const other of ['globex', 'nosuchtenant'])
      expect(await call(keys.acmeAdmin, 'GET', `/api/v1/admin/keys?tenant=${other}`)).toEqual({
        status: 403,
        body: OWN_ONLY,
      })
  })

  it('cannot create a key of another tenant, nor an operator key; the key table is unchanged', async () => {
    const before = await keyTable()
    for (const tenant of ['globex', 'ops', 'nosuchtenant'])
      expect(await call(keys.acmeAdmin, 'POST', '/api/v1/admin/keys', { tenant, scopes: ['read'] })).toEqual({
        status: 403,
        body: OWN_ONLY,
      })
    for (const scopes of [['operator'], ['read', 'operator']])
      expect(await call(keys.acmeAdmin, 'POST', '/api/v1/admin/keys', { scopes })).toEqual({
        status: 403,
        body: { code: 'FORBIDDEN', error: 'a tenant admin key cannot grant the operator scope' },
      })
    expect(await keyTable()).toBe(before)
  })

  it("cannot revoke another tenant's key, answered as for a key that does not exist", async () => {
    const before = await keyTable()
    const other = await call(keys.acmeAdmin, 'POST', `/api/v1/admin/keys/${globexReadId}/revoke`)
    const unknown = await call(keys.acmeAdmin, 'POST', '/api/v1/admin/keys/ffffffffffff/revoke')
    expect(other.status).toBe(404)
    expect(unknown.status).toBe(404)
    expect({ ...other.body, error: String(other.body.error).replace(globexReadId, 'ID') }).toEqual({
      ...unknown.body,
      error: String(unknown.body.error).replace('ffffffffffff', 'ID'),
    })
    expect(await keyTable()).toBe(before)
    await auth.refresh()
    expect(await call(keys.globexRead, 'GET', '/api/whoami')).toMatchObject({
      status: 200,
      body: { tenant: 'globex' },
    })
  })

  it('creates, lists and revokes keys of its own tenant, admin keys included', async () => {
    const made = await call(keys.acmeAdmin, 'POST', '/api/v1/admin/keys', { scopes: ['admin', 'read'] })
    expect(made).toMatchObject({ status: 201, body: { tenant: 'acme', scopes: ['admin', 'read'] } })
    const named = await call(keys.acmeAdmin, 'POST', '/api/v1/admin/keys', {
      tenant: 'acme',
      scopes: ['sql'],
    })
    expect(named).toMatchObject({ status: 201, body: { tenant: 'acme', scopes: ['sql'] } })
    const key = made.body.key as string
    expect(await call(key, 'GET', '/api/whoami')).toMatchObject({ status: 200, body: { tenant: 'acme' } })
    const revoked = await call(keys.acmeAdmin, 'POST', `/api/v1/admin/keys/${String(made.body.keyId)}/revoke`)
    expect(revoked).toMatchObject({ status: 200, body: { keyId: made.body.keyId, tenant: 'acme' } })
    expect((await call(key, 'GET', '/api/whoami')).status).toBe(401)
  })
})

describe('an operator key', () => {
  it('manages tenants and every tenant’s keys', async () => {
    expect(await call(keys.operator, 'POST', '/api/v1/admin/tenants', { name: 'initech' })).toMatchObject({
      status: 201,
    })
    const tenants = await call(keys.operator, 'GET', '/api/v1/admin/tenants')
    expect((tenants.body.tenants as { name: string }[]).map((t) => t.name)).toEqual([
      'acme',
      'globex',
      'initech',
      'ops',
    ])
    const all = await call(keys.operator, 'GET', '/api/v1/admin/keys')
    expect(new Set((all.body.keys as { tenant: string }[]).map((k) => k.tenant))).toEqual(
      new Set(['ops', 'acme', 'globex']),
    )
    // The tenant of the new key is the one named, not the operator's own.
    expect(await call(keys.operator, 'POST', '/api/v1/admin/keys', { scopes: ['read'] })).toEqual({
      status: 400,
      body: { code: 'INVALID', error: 'tenant is required' },
    })
    const made = await call(keys.operator, 'POST', '/api/v1/admin/keys', {
      tenant: 'initech',
      scopes: ['operator'],
    })
    expect(made).toMatchObject({ status: 201, body: { tenant: 'initech', scopes: ['operator'] } })
    expect(await call(keys.operator, 'POST', `/api/v1/admin/keys/${globexReadId}/revoke`)).toMatchObject({
      status: 200,
      body: { keyId: globexReadId, tenant: 'globex' },
    })
    expect((await call(keys.globexRead, 'GET', '/api/whoami')).status).toBe(401)
  })

  it('reads no tenant’s data and runs no SQL', async () => {
    expect((await call(keys.operator, 'GET', '/api/hosts')).status).toBe(403)
    expect((await call(keys.operator, 'POST', '/api/v1/sql', { query: 'SELECT 1' })).status).toBe(403)
  })
})

describe('read and sql', () => {
  it('refuses SQL to a key without the sql scope, and serves it to one with it', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/sql'],
      ['GET', '/api/v1/sql/tables'],
    ] as const)
      expect(
        await call(keys.acmeRead, method, path, method === 'POST' ? { query: 'SELECT 1' } : undefined),
      ).toEqual({ status: 403, body: { code: 'FORBIDDEN', error: 'this API key lacks the sql scope' } })
    expect((await call(keys.acmeSql, 'GET', '/api/v1/sql/tables')).status).toBe(200)
    const sql = await call(keys.acmeSql, 'POST', '/api/v1/sql', {
      query: "SELECT DISTINCT host FROM metrics WHERE metric = 'node_load1'",
    })
    expect(sql).toMatchObject({ status: 200, body: { rows: [['web-1']] } })
  })

  it('lets a read-only key read series and the Prometheus API', async () => {
    expect(await call(keys.acmeRead, 'GET', '/api/hosts')).toMatchObject({ status: 200 })
    const series = await call(
      keys.acmeRead,
      'GET',
      `/api/series?host=web-1&metric=node_load1&from=${String(NOW - 120_000)}&to=${String(NOW)}&points=10`,
    )
    expect(series.status).toBe(200)
    expect(JSON.stringify(series.body)).toContain('1.5')
    const prom = await call(
      keys.acmeRead,
      'GET',
      `/api/v1/query?query=node_load1&time=${String(Math.floor(NOW / 1000))}`,
    )
    expect(prom).toMatchObject({ status: 200, body: { status: 'success' } })
    expect(JSON.stringify(prom.body)).toContain('1.5')
    // Admin is not read: a tenant admin key does not read its tenant's data either.
    expect((await call(keys.acmeAdmin, 'GET', '/api/hosts')).status).toBe(403)
  })
})
