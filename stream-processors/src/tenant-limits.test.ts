import { describe, expect, it } from 'vitest'
import type { Envelope } from '#schemas/src/families.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { TenantHostLimit } from './tenant-limits.ts'

const env = (tenant: string, host: string): Envelope =>
  loadEnvelope({ tenant, host_id: host, hostname: host, agent_id: `a-${host}` })

describe('TenantHostLimit', () => {
  it('admits stored hosts always and new ones while the tenant is under its cap, per tenant', async () => {
    const asked: string[][] = []
    const limit = new TenantHostLimit(3, (tenants) => {
      asked.push(tenants)
      return Promise.resolve(new Map([['acme', ['h1', 'h2']]]))
    })
    const batch = [
      env('acme', 'h1'),
      env('acme', 'h3'),
      env('acme', 'h4'),
      env('globex', 'g1'),
      env('acme', 'h2'),
    ]
    await limit.prepare(batch)
    expect(batch.map((e) => limit.admit(e))).toEqual([true, true, false, true, true])
    expect(asked).toEqual([['acme', 'globex']])
    expect(limit.admit(env('acme', 'h3'))).toBe(true) // admitted once, known from then on

    limit.reset()
    await limit.prepare([env('acme', 'h9')])
    expect(asked).toHaveLength(2)
    expect(limit.admit(env('acme', 'h9'))).toBe(true) // the store knows h1, h2 only: h9 is the third
    expect(limit.admit(env('acme', 'h10'))).toBe(false)
  })
})
