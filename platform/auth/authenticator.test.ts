import { describe, expect, it } from 'vitest'
import { createLogger } from '../logger.ts'
import { generateKey } from './api-key.ts'
import { KeyAuthenticator, presentedKey } from './authenticator.ts'
import { hashKey } from './key-hash.ts'
import type { KeyRecord } from './key-store.ts'

const logger = createLogger('auth-test', { level: 'silent' })

async function record(tenant: string, scopes: KeyRecord['scopes']): Promise<{ key: string; rec: KeyRecord }> {
  const { key, keyId } = generateKey()
  return {
    key,
    rec: {
      keyId,
      tenant,
      name: '',
      scopes,
      hash: await hashKey(key),
      createdAt: new Date().toISOString(),
      expiresAt: null,
      revokedAt: null,
    },
  }
}

async function setup() {
  const a = await record('acme', ['ingest', 'read'])
  const b = await record('globex', ['read'])
  let table = [a.rec, b.rec]
  const auth = new KeyAuthenticator({ loadKeys: () => Promise.resolve(table) }, { refreshMs: 60_000, logger })
  await auth.start()
  auth.stop()
  return {
    auth,
    a,
    b,
    setTable: (t: KeyRecord[]) => {
      table = t
    },
  }
}

const refusal = (code: string, message: string): unknown => expect.objectContaining({ code, message })

describe('KeyAuthenticator', () => {
  it('gives the tenant of the key, whatever key of which tenant is presented', async () => {
    const { auth, a, b } = await setup()
    expect(await auth.authenticate(a.key, 'ingest')).toEqual({
      tenant: 'acme',
      keyId: a.rec.keyId,
      scopes: ['ingest', 'read'],
    })
    expect((await auth.authenticate(b.key, 'read')).tenant).toBe('globex')
    // Cached after the first check: still the same answer.
    expect((await auth.authenticate(a.key, 'read')).tenant).toBe('acme')
  })

  it('refuses missing, malformed, unknown and wrong keys alike, and a key without the scope', async () => {
    const { auth, a, b } = await setup()
    await expect(auth.authenticate(undefined, 'read')).rejects.toEqual(
      refusal('UNAUTHENTICATED', 'missing API key: send Authorization: Bearer <key>'),
    )
    const wrongSecret = `${a.key.slice(0, -4)}AAAA`
    const unknownId = generateKey().key
    for (const bad of ['nonsense', unknownId, wrongSecret, `${a.key}x`, 'x'.repeat(10_000)])
      await expect(auth.authenticate(bad, 'read')).rejects.toEqual(
        refusal('UNAUTHENTICATED', 'invalid API key'),
      )
    await expect(auth.authenticate(b.key, 'ingest')).rejects.toEqual(
      refusal('FORBIDDEN', 'this API key lacks the ingest scope'),
    )
  })

  it('takes any one of a list of scopes, and names them all when the key has none', async () => {
    const { auth, a, b } = await setup()
    expect((await auth.authenticate(a.key, ['admin', 'ingest'])).tenant).toBe('acme')
    await expect(auth.authenticate(b.key, ['admin', 'operator'])).rejects.toEqual(
      refusal('FORBIDDEN', 'this API key lacks the admin or operator scope'),
    )
    await expect(auth.authenticate(b.key, [])).rejects.toMatchObject({ code: 'FORBIDDEN' })
  })

  it('takes as long for an unknown key id as for a wrong secret of a known one', async () => {
    const { auth, a } = await setup()
    const wrongSecret = `${a.key.slice(0, -4)}AAAA`
    const time = async (key: string): Promise<number> => {
      const samples: number[] = []
      for (let i = 0; i < 5; i++) {
        const t = performance.now()
        await auth.authenticate(key, 'read').catch(() => undefined)
        samples.push(performance.now() - t)
      }
      return samples.sort((x, y) => x - y)[2] as number
    }
    const unknown = await time(generateKey().key)
    const wrong = await time(wrongSecret)
    // Both pay one scrypt (tens of ms); neither answers from a table lookup alone.
    expect(unknown).toBeGreaterThan(wrong / 2)
    expect(wrong).toBeGreaterThan(unknown / 2)
    expect(Math.min(unknown, wrong)).toBeGreaterThan(5)
  })

  it('refuses a key, even one it has verified before, once the table says revoked or expired', async () => {
    const { auth, a, b, setTable } = await setup()
    await auth.authenticate(a.key, 'read')
    await auth.authenticate(b.key, 'read')
    setTable([
      { ...a.rec, revokedAt: new Date().toISOString() },
      { ...b.rec, expiresAt: new Date(Date.now() - 1000).toISOString() },
    ])
    await auth.refresh()
    await expect(auth.authenticate(a.key, 'read')).rejects.toEqual(
      refusal('UNAUTHENTICATED', 'API key revoked'),
    )
    await expect(auth.authenticate(b.key, 'read')).rejects.toEqual(
      refusal('UNAUTHENTICATED', 'API key expired'),
    )
    // Removed from the table altogether: unknown again.
    setTable([])
    await auth.refresh()
    await expect(auth.authenticate(a.key, 'read')).rejects.toEqual(
      refusal('UNAUTHENTICATED', 'invalid API key'),
    )
  })

  it('reads the key from a bearer token or a basic-auth password', () => {
    expect(presentedKey('Bearer psk_abcd_x')).toBe('psk_abcd_x')
    expect(presentedKey(`Basic ${Buffer.from('grafana:psk_abcd_x').toString('base64')}`)).toBe('psk_abcd_x')
    expect(presentedKey('Token abc')).toBeUndefined()
    expect(presentedKey(undefined)).toBeUndefined()
  })

  it('bounds the scrypt checks of unknown keys, and a key verified before never waits behind them', async () => {
    const a = await record('acme', ['ingest'])
    const auth = new KeyAuthenticator(
      { loadKeys: () => Promise.resolve([a.rec]) },
      { refreshMs: 60_000, logger, maxConcurrentChecks: 1, maxQueuedChecks: 3 },
    )
    await auth.start()
    auth.stop()
    await auth.authenticate(a.key, 'ingest') // verified once, remembered
    const settled: string[] = []
    const flood = Array.from({ length: 6 }, (_, i) =>
      auth.authenticate(generateKey().key, 'ingest').then(
        () => settled.push(`bad${String(i)}:accepted`),
        (err: unknown) => settled.push(`bad${String(i)}:${(err as { code: string }).code}`),
      ),
    )
    // One check runs and three wait: the other two are refused at once, retryable, without a scrypt.
    await Promise.resolve()
    const good = auth.authenticate(a.key, 'ingest').then(() => settled.push('good'))
    await good
    expect(settled).toEqual(['bad4:BUSY', 'bad5:BUSY', 'good'])
    await Promise.all(flood)
    expect(settled.slice(3).sort()).toEqual([
      'bad0:UNAUTHENTICATED',
      'bad1:UNAUTHENTICATED',
      'bad2:UNAUTHENTICATED',
      'bad3:UNAUTHENTICATED',
    ])
    // The queue drained: a new unknown key is checked again (and refused as unknown, not busy).
    await expect(auth.authenticate(generateKey().key, 'ingest')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    })
  })
})
