import type { FastifyInstance } from 'fastify'
import { principalOf } from '../auth.ts'
import { QueryApiError } from '../errors.ts'
import { queryFleet, type FleetRequest } from '../fleet-query.ts'
import { int, MAX_RANGE_MS, type Query, type SeriesRouteDeps } from './series.ts'

/** A sparkline is ~100 px wide: more points than this only makes thousands of hosts' JSON heavier. */
export const MAX_FLEET_POINTS = 200
const DEFAULT_POINTS = 40

export function parseFleetRequest(q: Query, tenant: string, now = Date.now()): FleetRequest {
  const toMs = int(q, 'to', now)
  const fromMs = int(q, 'from', toMs - 15 * 60_000)
  if (fromMs >= toMs) throw new QueryApiError('BAD_REQUEST', 'from must be before to')
  if (toMs - fromMs > MAX_RANGE_MS)
    throw new QueryApiError('BAD_REQUEST', 'the range may span at most 400 days')
  const points = int(q, 'points', DEFAULT_POINTS)
  if (points < 2 || points > MAX_FLEET_POINTS)
    throw new QueryApiError('BAD_REQUEST', `points must be between 2 and ${MAX_FLEET_POINTS}`)
  return { tenant, fromMs, toMs, points }
}

/** `GET /api/fleet?from&to&points`: every host of the key's tenant, with its load and sparklines. */
export function fleetRoutes(app: FastifyInstance, deps: SeriesRouteDeps): void {
  app.get('/api/fleet', async (req) => {
    const { tenant } = await principalOf(req, deps.keys, 'read')
    return queryFleet(deps.clickhouse, deps.database, parseFleetRequest(req.query as Query, tenant))
  })
}
