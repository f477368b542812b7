import type { FastifyInstance, FastifyRequest } from 'fastify'
import {
  isScope,
  KEY_MANAGER_SCOPES,
  keyReach,
  SCOPES,
  TENANT_MANAGER_SCOPES,
  ungrantable,
  type KeyReach,
  type Scope,
} from '#platform/auth/api-key.ts'
import type { KeyAuthenticator, Principal } from '#platform/auth/authenticator.ts'
import { AuthError } from '#platform/auth/errors.ts'
import type { KeyStore } from '#platform/auth/key-store.ts'
import { principalOf } from '../auth.ts'

export interface AdminRouteDeps {
  keys: KeyAuthenticator
  store: KeyStore
}

/**
 * Said whenever a tenant admin names a tenant other than its own, whether that tenant exists or not:
 * the answer must not tell a tenant which other tenants there are.
 */
const OWN_TENANT_ONLY = "a tenant admin key manages its own tenant's keys only"

/**
 * The admin API behind `npm run admin`. Who may do what is api-key.ts ROLES: an `operator` key manages
 * tenants and every tenant's keys; an `admin` key only the keys of its own tenant, which it need not
 * name. It lives in the query API because in the all-in-one mode that process owns ClickHouse.
 * After a change this process re-reads the keys at once; other processes within their refresh period.
 */
export function adminRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  // Authenticated before the body is parsed; the handlers read the caller from here.
  const callers = new WeakMap<FastifyRequest, { principal: Principal; reach: KeyReach }>()
  const authorize = async (req: FastifyRequest, scopes: readonly Scope[]): Promise<void> => {
    const principal = await principalOf(req, deps.keys, scopes)
    callers.set(req, { principal, reach: keyReach(principal.scopes) })
  }
  const keyManager = (req: FastifyRequest): Promise<void> => authorize(req, KEY_MANAGER_SCOPES)
  const tenantManager = (req: FastifyRequest): Promise<void> => authorize(req, TENANT_MANAGER_SCOPES)
  const caller = (req: FastifyRequest): { principal: Principal; reach: KeyReach } => {
    const c = callers.get(req)
    // Fails closed should a route ever be added without its onRequest check.
    if (!c) throw new AuthError('FORBIDDEN', 'this API key may not use the admin API')
    return c
  }
  /** The tenant a key route acts on: a tenant admin's own, whatever it names; an operator's, as named. */
  const tenantFor = (
    req: FastifyRequest,
    named: string | undefined,
    required: boolean,
  ): string | undefined => {
    const { principal, reach } = caller(req)
    if (reach === 'any') {
      if (required && named === undefined) throw new AuthError('INVALID', 'tenant is required')
      return named
    }
    if (named !== undefined && named !== principal.tenant) {
      req.log.warn(
        { keyId: principal.keyId, tenant: principal.tenant },
        'a tenant admin key named another tenant; refused',
      )
      throw new AuthError('FORBIDDEN', OWN_TENANT_ONLY)
    }
    return principal.tenant
  }
  const body = (req: FastifyRequest): Record<string, unknown> => {
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))
      throw new AuthError('INVALID', 'send a JSON object body')
    return req.body as Record<string, unknown>
  }
  const str = (b: Record<string, unknown>, name: string, required: boolean): string | undefined => {
    const v = b[name]
    if (v === undefined || v === null) {
      if (required) throw new AuthError('INVALID', `${name} is required`)
      return undefined
    }
    if (typeof v !== 'string') throw new AuthError('INVALID', `${name} must be a string`)
    return v
  }

  app.get('/api/v1/admin/tenants', { onRequest: tenantManager }, async () => ({
    tenants: await deps.store.listTenants(),
  }))
  app.post('/api/v1/admin/tenants', { onRequest: tenantManager }, async (req, reply) => {
    caller(req)
    const tenant = await deps.store.createTenant(str(body(req), 'name', true) as string)
    return reply.code(201).send(tenant)
  })
  app.get('/api/v1/admin/keys', { onRequest: keyManager }, async (req) => {
    const named = (req.query as Record<string, string | undefined>).tenant
    const tenant = tenantFor(req, named === '' ? undefined : named, false)
    return { keys: await deps.store.listKeys(tenant) }
  })
  app.post('/api/v1/admin/keys', { onRequest: keyManager }, async (req, reply) => {
    const b = body(req)
    const scopes = b.scopes
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string'))
      throw new AuthError('INVALID', `scopes must be an array of ${SCOPES.join(', ')}`)
    const tenant = tenantFor(req, str(b, 'tenant', false), true) as string
    const refused = ungrantable(caller(req).principal.scopes, (scopes as string[]).filter(isScope))
    if (refused.length > 0)
      throw new AuthError('FORBIDDEN', `a tenant admin key cannot grant the ${refused.join(', ')} scope`)
    const name = str(b, 'name', false)
    const expiresAt = str(b, 'expires_at', false)
    const created = await deps.store.createKey({
      tenant,
      scopes: scopes as string[],
      ...(name !== undefined && { name }),
      ...(expiresAt !== undefined && { expiresAt }),
    })
    await deps.keys.refresh()
    req.log.info(
      { keyId: created.info.keyId, tenant, scopes: created.info.scopes, by: caller(req).principal.keyId },
      'API key created',
    )
    // The only time the key is ever shown.
    return reply.code(201).send({ key: created.key, ...created.info })
  })
  app.post('/api/v1/admin/keys/:keyId/revoke', { onRequest: keyManager }, async (req) => {
    const { principal, reach } = caller(req)
    const keyId = (req.params as { keyId: string }).keyId
    const info = await deps.store.revokeKey(keyId, reach === 'any' ? {} : { tenant: principal.tenant })
    await deps.keys.refresh()
    req.log.info({ keyId, tenant: info.tenant, by: principal.keyId }, 'API key revoked')
    return info
  })
}
