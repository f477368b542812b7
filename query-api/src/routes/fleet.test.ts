import { createClient } from '@clickhouse/client'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { memoryKeys } from '#test/support/keys.ts'
import { QueryApiError } from '../errors.ts'
import { fleetRoutes, parseFleetRequest } from './fleet.ts'

const NOW = 1_795_000_000_000

describe('parseFleetRequest', () => {
  it('fills defaults: the last 15 minutes, 40 sparkline points', () => {
    expect(parseFleetRequest({}, 'acme', NOW)).toEqual({
      tenant: 'acme',
      fromMs: NOW - 15 * 60_000,
      toMs: NOW,
      points: 40,
    })
    expect(parseFleetRequest({ from: '1000', to: '5000', points: '2' }, 'acme', NOW)).toEqual({
      tenant: 'acme',
      fromMs: 1000,
      toMs: 5000,
      points: 2,
    })
  })

  it('takes the tenant from the caller, never from the query', () => {
    expect(parseFleetRequest({ tenant: 'other' }, 'acme', NOW).tenant).toBe('acme')
  })

  it.each([
    [{ from: '10', to: '5' }, /from must be before to/],
    [{ from: '10', to: '10' }, /from must be before to/],
    [{ from: '0', to: String(NOW) }, /at most 400 days/],
    [{ points: '1' }, /points must be between 2 and 200/],
    [{ points: '201' }, /points must be between 2 and 200/],
    [{ points: '-5' }, /points="-5" is not a whole number/],
    [{ to: '1e9' }, /to="1e9" is not a whole number/],
    [{ from: 'yesterday' }, /from="yesterday" is not a whole number/],
  ])('rejects %j with a 400 naming the problem', (query, message) => {
    let caught: unknown
    try {
      parseFleetRequest(query, 'acme', NOW)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(QueryApiError)
    expect((caught as QueryApiError).statusCode).toBe(400)
    expect((caught as QueryApiError).message).toMatch(message)
  })
})

describe('GET /api/fleet', () => {
  it('wants a read key and names a bad parameter in a 400', async () => {
    const { auth, keys } = await memoryKeys([
      { tenant: 'acme', scopes: ['read'] },
      { tenant: 'acme', scopes: ['ingest'] },
    ])
    // Nothing here reaches ClickHouse: the client points nowhere on purpose.
    const clickhouse = createClient({ url: 'http://127.0.0.1:9' })
    const app = Fastify()
    fleetRoutes(app, { clickhouse, database: 'db', keys: auth, maxPoints: 1000 })
    const get = (url: string, key?: string) =>
      app.inject({ url, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } })

    expect((await get('/api/fleet')).statusCode).toBe(401)
    expect((await get('/api/fleet', keys[1])).statusCode).toBe(403)
    const bad = await get('/api/fleet?points=500', keys[0])
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ message: 'points must be between 2 and 200', code: 'BAD_REQUEST' })
    await app.close()
    await clickhouse.close()
  })
})
