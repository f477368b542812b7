import { createClient } from '@clickhouse/client'
import { describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { readQueryApiConfig } from '../config.ts'
import { DEFAULT_RETENTION } from '../report/window.ts'
import { buildQueryApi } from '../server.ts'

const { auth, keys } = await memoryKeys([
  { tenant: 'acme', scopes: ['read'] },
  { tenant: 'acme', scopes: ['ingest'] },
])
const KEY = keys[0] as string

// Every request here is refused before it reaches ClickHouse; the client points nowhere on purpose.
const app = await buildQueryApi({
  clickhouse: createClient({ url: 'http://127.0.0.1:9' }),
  database: 'db',
  keys: auth,
  readiness: [],
  logger: createLogger('unit', { level: 'silent' }),
  maxPoints: 1000,
  reports: {
    chromiumPath: undefined,
    maxConcurrentPerTenant: 1,
    resultTtlMs: 60_000,
    retention: DEFAULT_RETENTION,
    points: 1000,
  },
})

const post = (body: unknown, key = KEY) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/reports',
    headers: { authorization: `Bearer ${key}` },
    payload: body as Record<string, unknown>,
  })

describe('POST /api/v1/reports', () => {
  const now = Date.now()

  it('answers 503 for a PDF when no browser is configured, before any work', async () => {
    const res = await post({ kind: 'host', host: 'h', from: now - 60_000, to: now, format: 'pdf' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({
      error: 'PDF reports are not available: no browser is configured (REPORT_CHROMIUM_PATH); ask for html',
      code: 'REPORT_UNAVAILABLE',
    })
  })

  it('refuses malformed requests with a 400 naming the problem', async () => {
    const cases: [unknown, RegExp][] = [
      [{ kind: 'cluster', from: 1, to: 2 }, /kind must be host or fleet/],
      [{ kind: 'host', from: 1, to: 2 }, /host is required/],
      [{ kind: 'fleet', from: 'yesterday', to: now }, /from must be a time/],
      [{ kind: 'fleet', from: now, to: now - 1 }, /reversed/],
      [{ kind: 'fleet', from: now - 1, to: now - 1 }, /empty/],
      [{ kind: 'fleet', from: now - 60_000, to: now, format: 'png' }, /format must be html or pdf/],
      [[], /must be a JSON object/],
    ]
    for (const [body, message] of cases) {
      const res = await post(body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expect(res.json<{ error: string }>().error).toMatch(message)
    }
  })

  it('wants a key with the read scope', async () => {
    expect((await post({ kind: 'fleet', from: 1, to: 2 }, 'psk_nope_nope')).statusCode).toBe(401)
    expect((await post({ kind: 'fleet', from: 1, to: 2 }, keys[1])).statusCode).toBe(403)
    const status = await app.inject({ url: '/api/v1/reports/x', headers: { authorization: `Bearer ${KEY}` } })
    expect(status.statusCode).toBe(404)
    expect(status.json()).toEqual({ error: 'no such report', code: 'NOT_FOUND' })
  })
})

describe('report settings', () => {
  it('refuses a browser path that is not an executable, and reads the retention', () => {
    expect(() => readQueryApiConfig({ REPORT_CHROMIUM_PATH: '/nonexistent/chromium' })).toThrow(
      /REPORT_CHROMIUM_PATH=\/nonexistent\/chromium is not an executable file/,
    )
    const c = readQueryApiConfig({
      REPORT_CHROMIUM_PATH: process.execPath,
      RAW_TTL_DAYS: '2',
      REPORT_MAX_CONCURRENT: '3',
    })
    expect(c.reports).toMatchObject({
      chromiumPath: process.execPath,
      maxConcurrentPerTenant: 3,
      resultTtlMs: 600_000,
      retention: { rawDays: 2, tier10sDays: 30, tier1mDays: 365, tier1hDays: 1825 },
    })
  })
})
