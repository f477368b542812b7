import { describe, expect, it } from 'vitest'
import {
  generateKey,
  KEY_MANAGER_SCOPES,
  keyReach,
  parseKey,
  ROLES,
  SCOPES,
  TENANT_MANAGER_SCOPES,
  tenantNameProblem,
  ungrantable,
} from './api-key.ts'

describe('API keys', () => {
  it('are psk_<id>_<secret> with a public id and 32 random bytes of secret', () => {
    const a = generateKey()
    const b = generateKey()
    expect(a.key).toMatch(/^psk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/)
    expect(parseKey(a.key)).toEqual({ keyId: a.keyId, secret: a.key.slice(17) })
    expect(a.key).not.toBe(b.key)
    // The all-in-one key's id, and a secret that itself holds underscores.
    expect(parseKey('psk_local_ab_cd-efghijklmnopqrstu')).toEqual({
      keyId: 'local',
      secret: 'ab_cd-efghijklmnopqrstu',
    })
  })

  it('refuses anything else', () => {
    for (const bad of [
      '',
      'psk_',
      'psk_local',
      'psk_LOCAL_abcdefghijklmnopqrstuvwxyz',
      'psk_ab_abcdefghijklmnopqrstuvwxyz',
      'psk_local_short',
      'xyz_local_abcdefghijklmnopqrstuvwxyz',
      'psk_local_abcdefghijklmnop qrstuvwxyz',
    ])
      expect(parseKey(bad), bad).toBeUndefined()
    expect(() => generateKey('Bad Id')).toThrow(/4–32 of a-z0-9/)
  })

  it('tenant names are safe in Kafka keys, NATS subjects and URLs', () => {
    for (const ok of ['acme', 'a', 'team-1', 'x_y']) expect(tenantNameProblem(ok)).toBeUndefined()
    for (const bad of ['', 'Acme', 'a/b', 'a.b', '-a', 'a b', 'é', 'x'.repeat(64)])
      expect(tenantNameProblem(bad), bad).toMatch(/must be 1–63/)
  })

  it('declares every scope once, with what it may do', () => {
    expect(SCOPES).toEqual(['ingest', 'read', 'sql', 'admin', 'operator'])
    expect(Object.keys(ROLES).sort()).toEqual([...SCOPES].sort())
    expect(KEY_MANAGER_SCOPES).toEqual(['admin', 'operator'])
    expect(TENANT_MANAGER_SCOPES).toEqual(['operator'])
  })

  it('lets a tenant admin grant every scope but operator, an operator every scope, others none', () => {
    expect(keyReach(['read', 'sql'])).toBe('none')
    expect(keyReach(['admin', 'read'])).toBe('own')
    expect(keyReach(['admin', 'operator'])).toBe('any')
    expect(ungrantable(['admin'], ['ingest', 'read', 'sql', 'admin'])).toEqual([])
    expect(ungrantable(['admin'], ['read', 'operator'])).toEqual(['operator'])
    expect(ungrantable(['operator'], [...SCOPES])).toEqual([])
    expect(ungrantable(['read', 'sql'], ['read'])).toEqual(['read'])
  })
})
