import { describe, expect, it } from 'vitest'
import { DECOY_HASH, hashKey, verifyKey } from './key-hash.ts'

describe('key hashes', () => {
  it('verify the key they were made from and nothing else, and never contain it', async () => {
    const key = 'psk_abcd_0123456789abcdefghij'
    const stored = await hashKey(key)
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
    expect(stored).not.toContain('0123456789abcdefghij')
    expect(await verifyKey(key, stored)).toBe(true)
    expect(await verifyKey(`${key}x`, stored)).toBe(false)
    // Salted: the same key hashes differently each time.
    expect(await hashKey(key)).not.toBe(stored)
  })

  it('a malformed stored hash, or the decoy, matches no key', async () => {
    expect(await verifyKey('k', 'plain')).toBe(false)
    expect(await verifyKey('k', 'scrypt$16384$8$1$c2FsdA$c2hvcnQ')).toBe(false)
    expect(await verifyKey('psk_abcd_0123456789abcdefghij', DECOY_HASH)).toBe(false)
  })
})
