import { describe, expect, it } from 'vitest'
import { QueryApiError } from '../errors.ts'
import { parseSeriesRequest } from './series.ts'

const NOW = 1_795_000_000_000

describe('parseSeriesRequest', () => {
  it('fills defaults: raw values of the last 15 minutes at 600 points', () => {
    expect(parseSeriesRequest({ host: 'h', metric: 'node_load1' }, 'acme', 11_000, NOW)).toEqual({
      tenant: 'acme',
      host: 'h',
      metric: 'node_load1',
      fn: 'raw',
      sumBy: undefined,
      fromMs: NOW - 15 * 60_000,
      toMs: NOW,
      points: 600,
    })
  })

  it('takes the tenant from the caller, never from the query', () => {
    const req = parseSeriesRequest({ host: 'h', metric: 'm', tenant: 'other' }, 'acme', 11_000, NOW)
    expect(req.tenant).toBe('acme')
  })

  it.each([
    [{ metric: 'm' }, /host is required/],
    [{ host: 'h', metric: 'bad-name' }, /is not a metric name/],
    [{ host: 'h', metric: 'm', fn: 'irate' }, /must be raw or rate/],
    [{ host: 'h', metric: 'm', sum_by: 'mode,x;drop' }, /is not a label name/],
    [{ host: 'h', metric: 'm', from: '10', to: '5' }, /from must be before to/],
    [{ host: 'h', metric: 'm', from: '0', to: String(NOW) }, /at most 400 days/],
    [{ host: 'h', metric: 'm', points: '100001' }, /points must be between 1 and 11000/],
    [{ host: 'h', metric: 'm', to: '1e9' }, /is not a whole number/],
  ])('rejects %j with a 400 naming the problem', (query, message) => {
    let caught: unknown
    try {
      parseSeriesRequest(query, 'acme', 11_000, NOW)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(QueryApiError)
    expect((caught as QueryApiError).statusCode).toBe(400)
    expect((caught as QueryApiError).message).toMatch(message)
  })
})
