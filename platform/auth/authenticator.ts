import { createHash } from 'node:crypto'
import type { ConfigReader } from '../config.ts'
import type { Logger } from '../logger.ts'
import { parseKey, type Scope } from './api-key.ts'
import { AuthError } from './errors.ts'
import { DECOY_HASH, verifyKey } from './key-hash.ts'
import type { KeyRecord } from './key-store.ts'

/** Who a request is: the tenant comes from the key, never from anything the request says. */
export interface Principal {
  tenant: string
  keyId: string
  scopes: readonly Scope[]
}

/** What every service asks of authentication; KeyAuthenticator is the implementation. */
export interface Authenticator {
  /** `scope`: the scope the path needs, or a list of which any one will do. */
  authenticate(presented: string | undefined, scope: Scope | readonly Scope[]): Promise<Principal>
}

/** AUTH_KEYS_REFRESH_MS, the same setting in every service that checks keys: the revocation delay. */
export function readKeysRefreshMs(r: ConfigReader): number {
  return r.int('AUTH_KEYS_REFRESH_MS', 2_000, { min: 100, max: 600_000 })
}

export interface KeySource {
  loadKeys(): Promise<KeyRecord[]>
}

export interface AuthenticatorOptions {
  /** How often the key table is re-read: the bound on how long a revocation takes in this process. */
  refreshMs: number
  logger: Logger
  /** Verified keys remembered (by SHA-256 of the key); past it the oldest are forgotten. */
  maxCachedKeys?: number
  /**
   * scrypt checks run at once (default 2) and waiting (default 256; beyond, BUSY). A flood of made-up
   * keys costs ~65 ms of a libuv thread each; bounded, it cannot take the whole thread pool (which
   * zlib and the Kafka client share) nor hold memory, and keys verified before never wait in it.
   */
  maxConcurrentChecks?: number
  maxQueuedChecks?: number
}

/**
 * Checks presented keys against the key table, which it re-reads every `refreshMs`.
 *
 * A key's secret is checked with scrypt once per process; the verdict is then remembered under the
 * SHA-256 of the whole key, so later requests cost one hash. Whether the key is still valid (not
 * revoked, not expired, has the scope) is decided on every request from the latest table.
 * Only successes are remembered: an unknown key id and a wrong secret both cost one scrypt against a
 * stored (or decoy) hash, so their answers take the same time.
 */
export class KeyAuthenticator implements Authenticator {
  private keys = new Map<string, KeyRecord>()
  private readonly verified = new Map<string, string>()
  private timer: NodeJS.Timeout | undefined
  private loaded = false
  private lastRefreshError = 0
  private checking = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly source: KeySource,
    private readonly o: AuthenticatorOptions,
  ) {}

  /** Loads the keys once (failing if the table cannot be read), then keeps them fresh. */
  async start(): Promise<void> {
    await this.refresh()
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => {
        // Keep the last good table: an unreachable ClickHouse must not log everyone out.
        if (Date.now() - this.lastRefreshError > 60_000) {
          this.lastRefreshError = Date.now()
          this.o.logger.warn({ err: String(err) }, 'could not refresh API keys; using the last ones read')
        }
      })
    }, this.o.refreshMs)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  async refresh(): Promise<void> {
    const records = await this.source.loadKeys()
    this.keys = new Map(records.map((r) => [r.keyId, r]))
    this.loaded = true
  }

  async authenticate(presented: string | undefined, scope: Scope | readonly Scope[]): Promise<Principal> {
    if (!this.loaded) throw new Error('KeyAuthenticator used before start()')
    if (presented === undefined || presented.length === 0)
      throw new AuthError('UNAUTHENTICATED', 'missing API key: send Authorization: Bearer <key>')
    const digest = createHash('sha256').update(presented, 'utf8').digest('base64url')
    let keyId = this.verified.get(digest)
    let record = keyId === undefined ? undefined : this.keys.get(keyId)
    if (!record) {
      const parsed = presented.length <= 512 ? parseKey(presented) : undefined
      const candidate = parsed ? this.keys.get(parsed.keyId) : undefined
      const ok = await this.bounded(() => verifyKey(presented, candidate?.hash ?? DECOY_HASH))
      if (!ok || !candidate) throw new AuthError('UNAUTHENTICATED', 'invalid API key')
      record = candidate
      keyId = candidate.keyId
      this.remember(digest, keyId)
    }
    if (record.revokedAt !== null) throw new AuthError('UNAUTHENTICATED', 'API key revoked')
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now())
      throw new AuthError('UNAUTHENTICATED', 'API key expired')
    const anyOf: readonly Scope[] = typeof scope === 'string' ? [scope] : scope
    if (!anyOf.some((s) => record.scopes.includes(s)))
      throw new AuthError('FORBIDDEN', `this API key lacks the ${anyOf.join(' or ')} scope`)
    return { tenant: record.tenant, keyId: record.keyId, scopes: record.scopes }
  }

  private async bounded<T>(check: () => Promise<T>): Promise<T> {
    if (this.checking >= (this.o.maxConcurrentChecks ?? 2)) {
      if (this.waiting.length >= (this.o.maxQueuedChecks ?? 256))
        throw new AuthError('BUSY', 'too many API keys waiting to be checked; try again shortly')
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else this.checking++
    try {
      return await check()
    } finally {
      // The slot passes straight to the next waiter, so `checking` counts it without a gap.
      const next = this.waiting.shift()
      if (next) next()
      else this.checking--
    }
  }

  private remember(digest: string, keyId: string): void {
    const max = this.o.maxCachedKeys ?? 10_000
    if (this.verified.size >= max) {
      const oldest = this.verified.keys().next()
      if (!oldest.done) this.verified.delete(oldest.value)
    }
    this.verified.set(digest, keyId)
  }
}

/** Bearer token, or the password of HTTP basic auth (how Grafana can send it). */
export function presentedKey(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  if (bearer?.[1]) return bearer[1]
  const basic = /^Basic\s+(\S+)\s*$/i.exec(authorization)
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon >= 0 ? decoded.slice(colon + 1) : undefined
  }
  return undefined
}
