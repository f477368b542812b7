import { randomBytes } from 'node:crypto'

/**
 * API keys look like `psk_<key id>_<secret>`. The key id is public (it is listed, logged and used to
 * find the stored hash); the secret is 32 random bytes and is never stored, only its scrypt hash.
 * A key is shown once, when it is made.
 */
export const KEY_PREFIX = 'psk'

export const SCOPES = ['ingest', 'read', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

/** Lowercase so an id reads the same in logs, URLs and the CLI; `local` is the all-in-one key's id. */
const KEY_ID = /^[a-z0-9]{4,32}$/
const SECRET = /^[A-Za-z0-9_-]{16,256}$/
/** Tenants appear in Kafka keys (`tenant/host`), NATS subjects and URLs: no separators, no dots. */
const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/

export interface ParsedKey {
  keyId: string
  secret: string
}

export function parseKey(key: string): ParsedKey | undefined {
  if (!key.startsWith(`${KEY_PREFIX}_`)) return undefined
  const rest = key.slice(KEY_PREFIX.length + 1)
  const sep = rest.indexOf('_')
  if (sep < 0) return undefined
  const keyId = rest.slice(0, sep)
  const secret = rest.slice(sep + 1)
  return KEY_ID.test(keyId) && SECRET.test(secret) ? { keyId, secret } : undefined
}

export function generateKey(keyId: string = randomBytes(6).toString('hex')): { keyId: string; key: string } {
  if (!KEY_ID.test(keyId)) throw new Error(`key id ${JSON.stringify(keyId)} is not 4–32 of a-z0-9`)
  return { keyId, key: `${KEY_PREFIX}_${keyId}_${randomBytes(32).toString('base64url')}` }
}

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s)
}

/** Why a tenant name is refused, or undefined when it is valid. */
export function tenantNameProblem(name: string): string | undefined {
  return TENANT.test(name)
    ? undefined
    : `tenant name ${JSON.stringify(name)} must be 1–63 of a-z 0-9 _ - and start with a letter or digit`
}
