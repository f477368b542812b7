import type { FastifyRequest } from 'fastify'
import type { Scope } from '#platform/auth/api-key.ts'
import { presentedKey, type Authenticator, type Principal } from '#platform/auth/authenticator.ts'

/**
 * The caller of a request, from its key (a bearer token, or the password of HTTP basic auth as Grafana
 * can send it). The tenant of every read is this principal's; nothing in the request can change it.
 */
export function principalOf(
  req: FastifyRequest,
  auth: Authenticator,
  scope: Scope | readonly Scope[],
): Promise<Principal> {
  return auth.authenticate(presentedKey(req.headers.authorization), scope)
}
