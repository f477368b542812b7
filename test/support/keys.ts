import { generateKey, type Scope } from '#platform/auth/api-key.ts'
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { hashKey } from '#platform/auth/key-hash.ts'
import type { KeyRecord } from '#platform/auth/key-store.ts'
import { createLogger } from '#platform/logger.ts'

/**
 * A real KeyAuthenticator over a fixed key table held in memory, for tests of a service's routes
 * that do not need key management: keys are generated and scrypt-hashed exactly as the store does.
 */
export async function memoryKeys(
  specs: { tenant: string; scopes: Scope[] }[],
): Promise<{ auth: KeyAuthenticator; keys: string[]; records: KeyRecord[] }> {
  const keys: string[] = []
  const records: KeyRecord[] = []
  for (const spec of specs) {
    const { key, keyId } = generateKey()
    keys.push(key)
    records.push({
      keyId,
      tenant: spec.tenant,
      name: '',
      scopes: spec.scopes,
      hash: await hashKey(key),
      createdAt: new Date().toISOString(),
      expiresAt: null,
      revokedAt: null,
    })
  }
  const auth = new KeyAuthenticator(
    { loadKeys: () => Promise.resolve(records) },
    { refreshMs: 60_000, logger: createLogger('test-keys', { level: 'silent' }) },
  )
  await auth.start()
  return { auth, keys, records }
}
