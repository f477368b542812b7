import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { KeyAuthenticator } from '../../../platform/auth/authenticator.ts'
import { AuthError } from '../../../platform/auth/errors.ts'
import type { KeyStore } from '../../../platform/auth/key-store.ts'
import { principalOf } from '../auth.ts'

export interface AdminRouteDeps {
  keys: KeyAuthenticator
  store: KeyStore
}

/**
 * The admin API behind `npm run admin`: tenants and keys of the whole installation, for keys with the
 * admin scope. It lives in the query API because in the all-in-one mode that process owns ClickHouse.
 * After a change this process re-reads the keys at once; other processes within their refresh period.
 */
export function adminRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  const admin = async (req: FastifyRequest): Promise<void> => {
    await principalOf(req, deps.keys, 'admin')
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

  app.get('/api/v1/admin/tenants', { onRequest: admin }, async () => ({
    tenants: await deps.store.listTenants(),
  }))
  app.post('/api/v1/admin/tenants', { onRequest: admin }, async (req, reply) => {
    const tenant = await deps.store.createTenant(str(body(req), 'name', true) as string)
    return reply.code(201).send(tenant)
  })
  app.get('/api/v1/admin/keys', { onRequest: admin }, async (req) => {
    const tenant = (req.query as Record<string, string | undefined>).tenant
    return { keys: await deps.store.listKeys(tenant === '' ? undefined : tenant) }
  })
  app.post('/api/v1/admin/keys', { onRequest: admin }, async (req, reply) => {
    const b = body(req)
    const scopes = b.scopes
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== 'string'))
      throw new AuthError('INVALID', 'scopes must be an array of ingest, read, admin')
    const name = str(b, 'name', false)
    const expiresAt = str(b, 'expires_at', false)
    const created = await deps.store.createKey({
      tenant: str(b, 'tenant', true) as string,
      scopes: scopes as string[],
      ...(name !== undefined && { name }),
      ...(expiresAt !== undefined && { expiresAt }),
    })
    await deps.keys.refresh()
    // The only time the key is ever shown.
    return reply.code(201).send({ key: created.key, ...created.info })
  })
  app.post('/api/v1/admin/keys/:keyId/revoke', { onRequest: admin }, async (req) => {
    const info = await deps.store.revokeKey((req.params as { keyId: string }).keyId)
    await deps.keys.refresh()
    return info
  })
}
