import { describe, expect, it } from 'vitest'
import type { Envelope } from '#schemas/src/families.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { checkEnvelope, parseSampleKey } from './admission.ts'

const T = 1_795_000_000_000

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

  it('admits an envelope whose tenant and host match its key (values and times: schemas/src/admission.test.ts)', () => {
    expect(checkEnvelope(env(), key)).toBeUndefined()
  })

  it('refuses another tenant or host than the key names, or no key at all', () => {
    expect(checkEnvelope(env({ tenant: 'other' }), key)).toEqual({
      reason: 'KEY_MISMATCH',
      detail: 'envelope "other/web-1" under key "acme/web-1"',
    })
    expect(checkEnvelope(env({ host_id: 'db-1' }), key)?.reason).toBe('KEY_MISMATCH')
    expect(checkEnvelope(env(), undefined)?.detail).toBe('the message has no tenant/host key')
  })

  it('on a tenant’s own topic, refuses a key that names another tenant, whatever the envelope says', () => {
    expect(checkEnvelope(env(), key, 'acme')).toBeUndefined()
    const globex = { tenant: 'globex', host: 'web-1' }
    expect(checkEnvelope(env({ tenant: 'globex' }), globex, 'acme')).toEqual({
      reason: 'TOPIC_TENANT_MISMATCH',
      detail: 'key names tenant "globex" on the topic of tenant "acme"',
    })
  })
})
