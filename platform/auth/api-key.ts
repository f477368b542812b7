import { randomBytes } from 'node:crypto'

/**
 * API keys look like `psk_<key id>_<secret>`. The key id is public (it is listed, logged and used to
 * find the stored hash); the secret is 32 random bytes and is never stored, only its scrypt hash.
 * A key is shown once, when it is made.
 */
export const KEY_PREFIX = 'psk'

export const SCOPES = ['ingest', 'read', 'sql', 'admin', 'operator'] as const
export type Scope = (typeof SCOPES)[number]

/** Whose keys a scope lets a key manage: none, those of its own tenant, or every tenant's. */
export type KeyReach = 'none' | 'own' | 'any'

export interface Role {
  /** What a key with this scope may do, as the docs and the CLI's help say it. */
  may: string
  keys: KeyReach
  /** Creating and listing tenants: the installation's, not a tenant's, business. */
  tenants: boolean
  /**
   * Whether a tenant admin may put this scope on a key of its tenant. `admin` may: a tenant hands out
   * its own admin keys (the seed portal's admin, analyst and viewer per tenant), and an admin key can
   * reach nothing beyond its tenant, so minting another grants no more than the minter holds.
   */
  tenantAdminMayGrant: boolean
}

/**
 * The roles, the one declaration every service and the admin API check against. `read` and `sql` are
 * apart so a key given to Grafana or a dashboard cannot run ad-hoc SQL; `admin` and `operator` are
 * apart so a tenant's admin cannot see or touch another tenant.
 */
export const ROLES: Readonly<Record<Scope, Role>> = {
  ingest: {
    may: 'send metrics through the ingest gateway',
    keys: 'none',
    tenants: false,
    tenantAdminMayGrant: true,
  },
  read: {
    may: 'read its tenant: dashboards, /api/*, the Prometheus API, the live stream',
    keys: 'none',
    tenants: false,
    tenantAdminMayGrant: true,
  },
  sql: {
    may: "ad-hoc SQL over its tenant's rows (POST /api/v1/sql, GET /api/v1/sql/tables)",
    keys: 'none',
    tenants: false,
    tenantAdminMayGrant: true,
  },
  admin: {
    may: "create, list and revoke its own tenant's keys; set its agents' sampling intervals",
    keys: 'own',
    tenants: false,
    tenantAdminMayGrant: true,
  },
  operator: {
    may: "the installation: create and list tenants; create, list and revoke any tenant's keys; set any tenant's agents' sampling intervals",
    keys: 'any',
    tenants: true,
    tenantAdminMayGrant: false,
  },
}

/** The scopes that open the admin API's key routes (each route then narrows by reach). */
export const KEY_MANAGER_SCOPES: readonly Scope[] = SCOPES.filter((s) => ROLES[s].keys !== 'none')
/** The scopes that open the tenant routes. */
export const TENANT_MANAGER_SCOPES: readonly Scope[] = SCOPES.filter((s) => ROLES[s].tenants)

/** The widest key reach any of the scopes gives. */
export function keyReach(scopes: readonly Scope[]): KeyReach {
  const reaches = scopes.map((s) => ROLES[s].keys)
  return reaches.includes('any') ? 'any' : reaches.includes('own') ? 'own' : 'none'
}

/** The scopes, of those asked for, that keys with `granter` scopes may not put on a key. */
export function ungrantable(granter: readonly Scope[], asked: readonly Scope[]): Scope[] {
  const reach = keyReach(granter)
  if (reach === 'any') return []
  return asked.filter((s) => reach === 'none' || !ROLES[s].tenantAdminMayGrant)
}

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
