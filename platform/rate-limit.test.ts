import { describe, expect, it } from 'vitest'
import { TenantRateLimiter } from './rate-limit.ts'

describe('TenantRateLimiter', () => {
  it('admits a burst, then refuses with the seconds to wait, per tenant', () => {
    let now = 0
    const limiter = new TenantRateLimiter({ requestsPerS: 2, recordsPerS: 100, burstS: 2 }, () => now)
    for (let i = 0; i < 4; i++) expect(limiter.take('acme', 1)).toBeUndefined()
    expect(limiter.take('acme', 1)).toBe(1)
    // Another tenant has its own buckets.
    expect(limiter.take('globex', 1)).toBeUndefined()
    now += 500
    expect(limiter.take('acme', 1)).toBeUndefined()
    expect(limiter.take('acme', 1)).toBe(1)
  })

  it('counts records too, and takes nothing from a refused request', () => {
    let now = 0
    const limiter = new TenantRateLimiter({ requestsPerS: 1000, recordsPerS: 10, burstS: 1 }, () => now)
    expect(limiter.take('acme', 8)).toBeUndefined()
    expect(limiter.take('acme', 5)).toBe(1)
    expect(limiter.take('acme', 2)).toBeUndefined()
    now += 3000
    // More records than the whole bucket waits for a full bucket rather than never fitting.
    expect(limiter.take('acme', 500)).toBeUndefined()
    expect(limiter.take('acme', 1)).toBe(1)
  })
})
