import type { FastifyInstance } from 'fastify'
import { SCOPES } from '#platform/auth/api-key.ts'
import { presentedKey, type Authenticator } from '#platform/auth/authenticator.ts'
import type { TenantRateLimiter } from '#platform/rate-limit.ts'

/**
 * Requests per API key, before any route runs: a key that asks too fast gets 429 with Retry-After,
 * whichever path it calls. Keys are told apart by key id, so two dashboards of one tenant with
 * different keys do not slow each other down. Any valid key counts, whatever its scopes (an sql-only
 * or admin key is throttled as a read key is); requests without a valid key pass through and are
 * refused by their route with the usual 401 or 403; this hook only counts keys it recognises.
 */
export function keyRateLimit(app: FastifyInstance, keys: Authenticator, limiter: TenantRateLimiter): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/api/')) return
    const presented = presentedKey(req.headers.authorization)
    if (presented === undefined) return
    let keyId: string
    try {
      keyId = (await keys.authenticate(presented, SCOPES)).keyId
    } catch {
      return
    }
    const wait = limiter.take(keyId, 1)
    if (wait === undefined) return
    // Both error shapes in one body: Grafana reads `error`, our clients `code`.
    await reply
      .code(429)
      .header('retry-after', String(wait))
      .send({
        status: 'error',
        errorType: 'rate_limited',
        error: `this key sent more than its request rate; retry in ${String(wait)} s`,
        code: 'RATE_LIMITED',
      })
  })
}
