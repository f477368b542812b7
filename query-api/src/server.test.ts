import { createClient } from '@clickhouse/client'
import { describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { buildQueryApi } from './server.ts'

const { auth, keys } = await memoryKeys([
  { tenant: 'acme', scopes: ['read'] },
  { tenant: 'acme', scopes: ['ingest'] },
  { tenant: 'acme', scopes: ['read'] },
])
const KEY = keys[0] as string
const INGEST_ONLY = keys[1] as string
const OTHER_KEY = keys[2] as string

async function app(
  checks: { name: string; check: () => Promise<void> }[],
  rateLimit?: { requestsPerS: number; burstS: number },
) {
  // Routes exercised here never reach ClickHouse; the client points nowhere on purpose.
  return buildQueryApi({
    clickhouse: createClient({ url: 'http://127.0.0.1:9' }),
    database: 'db',
    keys: auth,
    readiness: checks,
    logger: createLogger('unit', { level: 'silent' }),
    maxPoints: 1000,
    rateLimit,
  })
}

describe('query API server', () => {
  it('limits requests per key with 429 and Retry-After, other keys unaffected', async () => {
    const a = await app([], { requestsPerS: 1, burstS: 2 })
    const ask = (key: string) => a.inject({ url: '/api/whoami', headers: { authorization: `Bearer ${key}` } })
    expect((await ask(KEY)).statusCode).toBe(200)
    expect((await ask(KEY)).statusCode).toBe(200)
    const limited = await ask(KEY)
    expect(limited.statusCode).toBe(429)
    expect(limited.headers['retry-after']).toBe('1')
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED', errorType: 'rate_limited' })
    expect((await ask(OTHER_KEY)).statusCode).toBe(200)
    // Requests without a usable key are not counted against anyone: they get their 401.
    expect(
      (await a.inject({ url: '/api/whoami', headers: { authorization: 'Bearer nope' } })).statusCode,
    ).toBe(401)
    await a.close()
  })

  it('is live always, and ready only when every dependency answers, naming the one that does not', async () => {
    const a = await app([
      { name: 'kafka', check: () => Promise.resolve() },
      { name: 'clickhouse', check: () => Promise.reject(new Error('connection refused')) },
    ])
    expect((await a.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' })
    const ready = await a.inject({ url: '/readyz' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toEqual({
      status: 'not ready',
      checks: { kafka: { ok: true }, clickhouse: { ok: false, error: 'connection refused' } },
    })
    await a.close()
  })

  it('accepts the key as a bearer token or as a basic-auth password, and rejects anything else', async () => {
    const a = await app([])
    const basic = Buffer.from(`grafana:${KEY}`).toString('base64')
    expect(
      (await a.inject({ url: '/api/whoami', headers: { authorization: `Bearer ${KEY}` } })).json(),
    ).toMatchObject({ tenant: 'acme', scopes: ['read'] })
    expect(
      (await a.inject({ url: '/api/whoami', headers: { authorization: `Basic ${basic}` } })).json(),
    ).toMatchObject({ tenant: 'acme' })
    const missing = await a.inject({ url: '/api/whoami' })
    expect(missing.statusCode).toBe(401)
    expect(missing.json()).toEqual({
      error: 'missing API key: send Authorization: Bearer <key>',
      code: 'UNAUTHENTICATED',
    })
    expect(
      (await a.inject({ url: '/api/whoami', headers: { authorization: `Bearer ${KEY}x` } })).statusCode,
    ).toBe(401)
    // A valid key without the read scope (an agent's ingest key) reads nothing.
    const ingestOnly = await a.inject({
      url: '/api/hosts',
      headers: { authorization: `Bearer ${INGEST_ONLY}` },
    })
    expect(ingestOnly.statusCode).toBe(403)
    expect(ingestOnly.json()).toEqual({ error: 'this API key lacks the read scope', code: 'FORBIDDEN' })
    await a.close()
  })

  it('answers unknown routes and bad parameters with the JSON error shape, no stack trace', async () => {
    const a = await app([])
    const nf = await a.inject({ url: '/nope' })
    expect(nf.statusCode).toBe(404)
    expect(nf.json()).toEqual({ error: 'no route GET /nope', code: 'NOT_FOUND' })
    const bad = await a.inject({ url: '/api/series?metric=x', headers: { authorization: `Bearer ${KEY}` } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toEqual({ error: 'host is required', code: 'BAD_REQUEST' })
    await a.close()
  })

  it('serves the dashboard page and uPlot from its package', async () => {
    const a = await app([])
    const page = await a.inject({ url: '/' })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('<html')
    const uplot = await a.inject({ url: '/static/vendor/uPlot.esm.js' })
    expect(uplot.statusCode).toBe(200)
    expect(uplot.body).toContain('uPlot')
    expect((await a.inject({ url: '/static/vendor/package.json' })).statusCode).toBe(404)
    await a.close()
  })
})
