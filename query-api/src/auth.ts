import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { QueryApiError } from './errors.ts'

/** Maps a presented key to its tenant; the tenant never comes from the request itself. */
export interface KeyResolver {
  tenantFor(key: string): string | undefined
}

/**
 * The single key of an all-in-one installation. Keys are compared as SHA-256 digests with a
 * constant-time compare, so neither the length nor the content of a wrong key shows in the timing.
 */
export class StaticKeyResolver implements KeyResolver {
  private readonly digest: Buffer
  constructor(
    key: string,
    private readonly tenant: string,
  ) {
    this.digest = sha256(key)
  }
  tenantFor(key: string): string | undefined {
    return timingSafeEqual(sha256(key), this.digest) ? this.tenant : undefined
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** Bearer token, or the password of HTTP basic auth (how Grafana can send it). */
export function presentedKey(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  if (!h) return undefined
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(h)
  if (bearer?.[1]) return bearer[1]
  const basic = /^Basic\s+(\S+)\s*$/i.exec(h)
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon >= 0 ? decoded.slice(colon + 1) : undefined
  }
  return undefined
}

export function authenticate(req: FastifyRequest, keys: KeyResolver): string {
  const key = presentedKey(req)
  if (key === undefined)
    throw new QueryApiError('UNAUTHENTICATED', 'missing API key: send Authorization: Bearer <key>')
  const tenant = keys.tenantFor(key)
  if (tenant === undefined) throw new QueryApiError('UNAUTHENTICATED', 'invalid API key')
  return tenant
}
