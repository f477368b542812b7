import { describe, expect, it } from 'vitest'
import type { Envelope } from '../../schemas/src/families.ts'
import { loadEnvelope } from '../../test/support/envelopes.ts'
import { checkEnvelope, parseSampleKey } from './admission.ts'

const T = 1_795_000_000_000
const bounds = { maxPastMs: 7 * 86_400_000, maxFutureMs: 300_000 }

const env = (over: Partial<Envelope> = {}): Envelope => loadEnvelope({ ts_us: T * 1000, ...over })

describe('parseSampleKey', () => {
  it('splits tenant/host at the first slash and refuses anything else', () => {
    expect(parseSampleKey(Buffer.from('acme/web-1'))).toEqual({ tenant: 'acme', host: 'web-1' })
    expect(parseSampleKey(Buffer.from('acme/a/b'))).toEqual({ tenant: 'acme', host: 'a/b' })
    for (const bad of ['acme', '/web', 'acme/', ''])
      expect(parseSampleKey(Buffer.from(bad)), bad).toBeUndefined()
    expect(parseSampleKey(null)).toBeUndefined()
  })
})

describe('checkEnvelope', () => {
  const key = { tenant: 'acme', host: 'web-1' }

  it('admits an envelope whose tenant and host match its key, within the time bounds', () => {
    expect(checkEnvelope(env(), key, T, bounds)).toBeUndefined()
    expect(checkEnvelope(env({ ts_us: (T - bounds.maxPastMs) * 1000 }), key, T, bounds)).toBeUndefined()
    expect(checkEnvelope(env({ ts_us: (T + bounds.maxFutureMs) * 1000 }), key, T, bounds)).toBeUndefined()
  })

  it('refuses another tenant or host than the key names, or no key at all', () => {
    expect(checkEnvelope(env({ tenant: 'other' }), key, T, bounds)).toEqual({
      reason: 'KEY_MISMATCH',
      detail: 'envelope "other/web-1" under key "acme/web-1"',
    })
    expect(checkEnvelope(env({ host_id: 'db-1' }), key, T, bounds)?.reason).toBe('KEY_MISMATCH')
    expect(checkEnvelope(env(), undefined, T, bounds)?.detail).toBe('the message has no tenant/host key')
  })

  it('on a tenant’s own topic, refuses a key that names another tenant, whatever the envelope says', () => {
    expect(checkEnvelope(env(), key, T, bounds, 'acme')).toBeUndefined()
    const globex = { tenant: 'globex', host: 'web-1' }
    expect(checkEnvelope(env({ tenant: 'globex' }), globex, T, bounds, 'acme')).toEqual({
      reason: 'TOPIC_TENANT_MISMATCH',
      detail: 'key names tenant "globex" on the topic of tenant "acme"',
    })
  })

  it('refuses samples too old, too far ahead, or absurd, against the message timestamp', () => {
    for (const tsMs of [T - bounds.maxPastMs - 1, T + bounds.maxFutureMs + 1, 0, -1e18, 9e18, Number.NaN]) {
      const r = checkEnvelope(env({ ts_us: tsMs * 1000 }), key, T, bounds)
      expect(r?.reason, String(tsMs)).toBe('TIMESTAMP_OUT_OF_BOUNDS')
    }
    expect(checkEnvelope(env({ ts_us: 9e21 }), key, T, bounds)?.detail).toContain(
      '9000000000000000000 ms since the epoch',
    )
  })
})
