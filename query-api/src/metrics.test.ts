import { createServer } from 'node:http'
import { createClient } from '@clickhouse/client'
import { describe, expect, it } from 'vitest'
import { VERSION } from '#platform/build-info.ts'
import { createLogger } from '#platform/logger.ts'
import { parseExposition, sumOf } from '#platform/prometheus-parse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { buildQueryApi } from './server.ts'

const { auth, keys } = await memoryKeys([
  { tenant: 'acme', scopes: ['read', 'sql'] },
  { tenant: 'ops', scopes: ['operator'] },
  { tenant: 'acme', scopes: ['ingest'] },
])
const [READ, OPERATOR, INGEST] = keys as [string, string, string]

describe('the query API’s /metrics and /api/v1/pipeline', () => {
  it('counts by route pattern and status, without a key and without a tenant', async () => {
    const app = await buildQueryApi({
      clickhouse: createClient({ url: 'http://127.0.0.1:9' }),
      database: 'db',
      keys: auth,
      readiness: [],
      logger: createLogger('unit', { level: 'silent' }),
      maxPoints: 1000,
    })
    const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
    await app.inject({ url: '/api/whoami', headers: bearer(READ) })
    await app.inject({ url: '/api/whoami', headers: bearer(OPERATOR) })
    await app.inject({ url: '/api/whoami', headers: bearer(INGEST) })
    await app.inject({ url: '/no/such/path/acme-secret' })
    // Without a tenant SQL connection the route answers 503: refused, and no longer running.
    await app.inject({ method: 'POST', url: '/api/v1/sql', headers: bearer(READ), payload: 'SELECT 1' })
    const res = await app.inject({ url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    const page = parseExposition(res.body)
    const requests = (route: string, code: string) =>
      sumOf(page, 'procstream_query_api_requests_total', { route, code })
    expect(requests('/api/whoami', '200')).toBe(2)
    expect(requests('/api/whoami', '403')).toBe(1)
    expect(requests('unmatched', '404')).toBe(1)
    expect(sumOf(page, 'procstream_query_api_sql_refused_total')).toBe(1)
    expect(sumOf(page, 'procstream_query_api_sql_running')).toBe(0)
    expect(sumOf(page, 'procstream_query_api_live_streams')).toBe(0)
    expect(sumOf(page, 'procstream_query_api_request_duration_seconds_count')).toBe(5)
    expect(sumOf(page, 'procstream_build_info', { component: 'query-api', version: VERSION })).toBe(1)
    expect(res.body).not.toContain('acme')
    await app.close()
  })

  it('answers /api/v1/pipeline to operator keys only, reading nothing for any other', async () => {
    let reads = 0
    const target = createServer((_req, res) => {
      reads++
      res.writeHead(200).end('procstream_build_info{component="gateway",version="9.9.9"} 1\n')
    })
    await new Promise<void>((done) => target.listen(0, '127.0.0.1', done))
    const address = target.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    const app = await buildQueryApi({
      clickhouse: createClient({ url: 'http://127.0.0.1:9' }),
      database: 'db',
      keys: auth,
      readiness: [],
      logger: createLogger('unit', { level: 'silent' }),
      maxPoints: 1000,
      pipeline: {
        targets: [{ name: 'gw', url: `http://127.0.0.1:${String(address.port)}/metrics` }],
        timeoutMs: 1_000,
      },
    })
    const ask = (headers: Record<string, string>) => app.inject({ url: '/api/v1/pipeline', headers })
    expect((await ask({})).statusCode).toBe(401)
    for (const key of [READ, INGEST]) {
      const refused = await ask({ authorization: `Bearer ${key}` })
      expect(refused.statusCode).toBe(403)
      expect(refused.json()).toEqual({ error: 'this API key lacks the operator scope', code: 'FORBIDDEN' })
    }
    expect(reads).toBe(0)
    const ok = await ask({ authorization: `Bearer ${OPERATOR}` })
    expect(ok.statusCode).toBe(200)
    expect(ok.headers['cache-control']).toBe('no-store')
    expect(ok.json()).toMatchObject({
      components: [{ name: 'gw', up: true, component: 'gateway', version: '9.9.9' }],
    })
    expect(reads).toBe(1)
    await app.close()
    await new Promise((done) => target.close(done))
  })
})
