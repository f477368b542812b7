import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Authenticator } from '#platform/auth/authenticator.ts'
import { principalOf } from '../auth.ts'
import { QueryApiError } from '../errors.ts'
import { queryHosts, querySeries, type SeriesRequest } from '../series-query.ts'

export interface SeriesRouteDeps {
  clickhouse: ClickHouseClient
  database: string
  keys: Authenticator
  maxPoints: number
  /** The live path's NATS (routes/live.ts): whoami says whether there is one, so a page asks for no stream that cannot open. */
  live?: { nats: unknown }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
/** The longest range a chart (series or fleet) may ask for. */
export const MAX_RANGE_MS = 400 * 24 * 3600 * 1000

export type Query = Record<string, string | undefined>

/** A whole-number parameter, or `fallback` when absent; anything else is a 400 naming it. */
export function int(q: Query, name: string, fallback: number): number {
  const v = q[name]
  if (v === undefined || v === '') return fallback
  if (!/^\d+$/.test(v))
    throw new QueryApiError('BAD_REQUEST', `${name}=${JSON.stringify(v)} is not a whole number`)
  return Number(v)
}

export function parseSeriesRequest(
  q: Query,
  tenant: string,
  maxPoints: number,
  now = Date.now(),
): SeriesRequest {
  const host = q.host
  if (!host) throw new QueryApiError('BAD_REQUEST', 'host is required')
  const metric = q.metric ?? ''
  if (!METRIC_NAME.test(metric))
    throw new QueryApiError('BAD_REQUEST', `metric=${JSON.stringify(metric)} is not a metric name`)
  const fn = q.fn ?? 'raw'
  if (fn !== 'raw' && fn !== 'rate')
    throw new QueryApiError('BAD_REQUEST', `fn=${JSON.stringify(fn)} must be raw or rate`)
  let sumBy: string[] | undefined
  if (q.sum_by !== undefined && q.sum_by !== '') {
    sumBy = q.sum_by.split(',')
    const bad = sumBy.find((l) => !LABEL_NAME.test(l))
    if (bad !== undefined)
      throw new QueryApiError('BAD_REQUEST', `sum_by label ${JSON.stringify(bad)} is not a label name`)
  }
  const toMs = int(q, 'to', now)
  const fromMs = int(q, 'from', toMs - 15 * 60_000)
  if (fromMs >= toMs) throw new QueryApiError('BAD_REQUEST', 'from must be before to')
  if (toMs - fromMs > MAX_RANGE_MS)
    throw new QueryApiError('BAD_REQUEST', 'the range may span at most 400 days')
  const points = int(q, 'points', 600)
  if (points < 1 || points > maxPoints)
    throw new QueryApiError('BAD_REQUEST', `points must be between 1 and ${maxPoints}`)
  return { tenant, host, metric, fn, sumBy, fromMs, toMs, points }
}

export function seriesRoutes(app: FastifyInstance, deps: SeriesRouteDeps): void {
  const tenantOf = async (req: FastifyRequest): Promise<string> =>
    (await principalOf(req, deps.keys, 'read')).tenant
  // An operator key signs in to the dashboard too (its pipeline view); the answer is the key's own.
  app.get('/api/whoami', async (req) => {
    const p = await principalOf(req, deps.keys, ['read', 'operator'])
    return { tenant: p.tenant, key_id: p.keyId, scopes: p.scopes, live: deps.live?.nats !== undefined }
  })
  app.get('/api/hosts', async (req) => ({
    hosts: await queryHosts(deps.clickhouse, deps.database, await tenantOf(req)),
  }))
  app.get('/api/series', async (req) => {
    const request = parseSeriesRequest(req.query as Query, await tenantOf(req), deps.maxPoints)
    return querySeries(deps.clickhouse, deps.database, request)
  })
}
