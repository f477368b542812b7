import type { ClickHouseClient } from '@clickhouse/client'
import { generateKey, isScope, parseKey, SCOPES, tenantNameProblem, type Scope } from './api-key.ts'
import { AuthError } from './errors.ts'
import { hashKey } from './key-hash.ts'

export interface TenantRecord {
  name: string
  createdAt: string
}

/** What is stored about a key: never the key itself. */
export interface KeyRecord {
  keyId: string
  tenant: string
  name: string
  scopes: Scope[]
  hash: string
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
}

/** A key as listed to an admin: without its hash. */
export type KeyInfo = Omit<KeyRecord, 'hash'>

export interface NewKey {
  tenant: string
  scopes: readonly string[]
  name?: string
  /** ISO time after which the key no longer authenticates; undefined: never expires. */
  expiresAt?: string
}

interface KeyRow {
  key_id: string
  tenant: string
  name: string
  scopes: string[]
  hash: string
  created_at: string
  expires_at: string | null
  revoked_at: string | null
}

/**
 * Tenants and keys in ClickHouse (migration 3), the one store every process of an installation
 * already shares. A change inserts a row with a higher version and reads use FINAL, so a revocation
 * is visible to every process at its next refresh, without a second database to run.
 */
export class KeyStore {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  async listTenants(): Promise<TenantRecord[]> {
    const rs = await this.client.query({
      query: `SELECT name, toString(created_at) AS created_at FROM ${this.database}.tenants FINAL ORDER BY name`,
      format: 'JSONEachRow',
    })
    return (await rs.json<{ name: string; created_at: string }>()).map((r) => ({
      name: r.name,
      createdAt: iso(r.created_at),
    }))
  }

  async tenantExists(name: string): Promise<boolean> {
    const rs = await this.client.query({
      query: `SELECT count() AS n FROM ${this.database}.tenants FINAL WHERE name = {name:String}`,
      query_params: { name },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<{ n: string | number }>()
    return Number(row?.n ?? 0) > 0
  }

  /** Creates a tenant; with `ifMissing` an existing one is not an error (start-up of npm start). */
  async createTenant(name: string, options: { ifMissing?: boolean } = {}): Promise<TenantRecord> {
    const problem = tenantNameProblem(name)
    if (problem) throw new AuthError('INVALID', problem)
    if (await this.tenantExists(name)) {
      if (options.ifMissing) return { name, createdAt: new Date().toISOString() }
      throw new AuthError('CONFLICT', `tenant ${JSON.stringify(name)} already exists`)
    }
    const now = new Date()
    await this.client.insert({
      table: `${this.database}.tenants`,
      values: [{ name, created_at: chTime(now.toISOString()), version: now.getTime() }],
      format: 'JSONEachRow',
    })
    return { name, createdAt: now.toISOString() }
  }

  /** Makes a key and returns it once, with its stored record; only its hash is kept. */
  async createKey(spec: NewKey): Promise<{ key: string; info: KeyInfo }> {
    const { key, keyId } = generateKey()
    const info = await this.storeKey(key, keyId, spec)
    return { key, info }
  }

  /**
   * Stores a key made elsewhere (the all-in-one installation's local key, kept in its data folder),
   * replacing any earlier record of that key id.
   */
  async registerKey(key: string, spec: NewKey): Promise<KeyInfo> {
    const parsed = parseKey(key)
    if (!parsed) throw new AuthError('INVALID', 'the key is not of the form psk_<id>_<secret>')
    return this.storeKey(key, parsed.keyId, spec)
  }

  private async storeKey(key: string, keyId: string, spec: NewKey): Promise<KeyInfo> {
    const scopes = checkScopes(spec.scopes)
    const expiresAt = spec.expiresAt === undefined ? null : checkExpiry(spec.expiresAt)
    if (!(await this.tenantExists(spec.tenant)))
      throw new AuthError('UNKNOWN', `no tenant ${JSON.stringify(spec.tenant)}: create it first`)
    const now = new Date()
    const row: KeyRow = {
      key_id: keyId,
      tenant: spec.tenant,
      name: spec.name ?? '',
      scopes,
      hash: await hashKey(key),
      created_at: now.toISOString(),
      expires_at: expiresAt,
      revoked_at: null,
    }
    await this.insertKeyRow(row, now.getTime())
    return infoOf(recordOf(row))
  }

  async listKeys(tenant?: string): Promise<KeyInfo[]> {
    return (await this.loadKeys(tenant)).map(infoOf)
  }

  /** Every key, with hashes, for the authenticator's cache. */
  async loadKeys(tenant?: string): Promise<KeyRecord[]> {
    const rs = await this.client.query({
      query: `SELECT key_id, tenant, name, scopes, hash, toString(created_at) AS created_at,
        if(isNull(expires_at), NULL, toString(expires_at)) AS expires_at,
        if(isNull(revoked_at), NULL, toString(revoked_at)) AS revoked_at
        FROM ${this.database}.api_keys FINAL
        ${tenant === undefined ? '' : 'WHERE tenant = {tenant:String}'}
        ORDER BY tenant, created_at, key_id`,
      query_params: tenant === undefined ? {} : { tenant },
      format: 'JSONEachRow',
    })
    return (await rs.json<KeyRow>()).map(recordOf)
  }

  /**
   * Revokes a key for good; revoking a revoked key keeps its first revocation time. With `tenant`, a
   * key of another tenant is looked up by the same single query as any key and so is refused exactly
   * as a key id that does not exist: a tenant admin learns nothing of other tenants' keys.
   */
  async revokeKey(keyId: string, options: { tenant?: string } = {}): Promise<KeyInfo> {
    const rs = await this.client.query({
      query: `SELECT key_id, tenant, name, scopes, hash, toString(created_at) AS created_at,
        if(isNull(expires_at), NULL, toString(expires_at)) AS expires_at,
        if(isNull(revoked_at), NULL, toString(revoked_at)) AS revoked_at
        FROM ${this.database}.api_keys FINAL WHERE key_id = {keyId:String}
        ${options.tenant === undefined ? '' : 'AND tenant = {tenant:String}'}`,
      query_params: options.tenant === undefined ? { keyId } : { keyId, tenant: options.tenant },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<KeyRow>()
    if (!row) throw new AuthError('UNKNOWN', `no key with id ${JSON.stringify(keyId)}`)
    if (row.revoked_at !== null) return infoOf(recordOf(row))
    const now = new Date()
    const revoked: KeyRow = {
      ...row,
      created_at: iso(row.created_at),
      expires_at: row.expires_at === null ? null : iso(row.expires_at),
      revoked_at: now.toISOString(),
    }
    await this.insertKeyRow(revoked, now.getTime())
    return infoOf(recordOf(revoked))
  }

  private async insertKeyRow(row: KeyRow, version: number): Promise<void> {
    await this.client.insert({
      table: `${this.database}.api_keys`,
      values: [
        {
          ...row,
          created_at: chTime(row.created_at),
          expires_at: row.expires_at === null ? null : chTime(row.expires_at),
          revoked_at: row.revoked_at === null ? null : chTime(row.revoked_at),
          version,
        },
      ],
      format: 'JSONEachRow',
    })
  }
}

/** The scopes of a new key, deduplicated and sorted; unknown names are refused, never dropped. */
export function checkScopes(scopes: readonly string[]): Scope[] {
  if (scopes.length === 0)
    throw new AuthError('INVALID', `a key needs at least one scope: ${SCOPES.join(', ')}`)
  const bad = scopes.filter((s) => !isScope(s))
  if (bad.length > 0)
    throw new AuthError(
      'INVALID',
      `unknown scope(s) ${bad.map((s) => JSON.stringify(s)).join(', ')}: valid are ${SCOPES.join(', ')}`,
    )
  return [...new Set(scopes as Scope[])].sort()
}

function checkExpiry(expiresAt: string): string {
  const ms = Date.parse(expiresAt)
  if (!Number.isFinite(ms))
    throw new AuthError('INVALID', `expiry ${JSON.stringify(expiresAt)} is not a date`)
  if (ms <= Date.now()) throw new AuthError('INVALID', `expiry ${expiresAt} is in the past`)
  return new Date(ms).toISOString()
}

/**
 * The DateTime64 text ClickHouse parses with its default (basic) input format. Per-insert settings
 * such as best-effort parsing would stay on for the whole chdb session, so none is used.
 */
function chTime(isoTime: string): string {
  return iso(isoTime).replace('T', ' ').replace('Z', '')
}

/** ClickHouse prints DateTime64 as `2026-11-23 15:04:05.123` in UTC. */
function iso(text: string): string {
  return text.includes('T') ? text : `${text.replace(' ', 'T')}Z`
}

function recordOf(r: KeyRow): KeyRecord {
  return {
    keyId: r.key_id,
    tenant: r.tenant,
    name: r.name,
    scopes: r.scopes.filter(isScope),
    hash: r.hash,
    createdAt: iso(r.created_at),
    expiresAt: r.expires_at === null ? null : iso(r.expires_at),
    revokedAt: r.revoked_at === null ? null : iso(r.revoked_at),
  }
}

function infoOf(r: KeyRecord): KeyInfo {
  const { hash: _hash, ...info } = r
  return info
}
