/**
 * Token buckets per tenant (the gateway) or per key (the query API) for requests and records. A request is admitted only if both buckets hold
 * enough; otherwise nothing is taken and the caller learns how long until it would fit. Each gateway
 * process keeps its own buckets, so N gateways admit up to N times the configured rates.
 */
export interface RateLimits {
  requestsPerS: number
  recordsPerS: number
  /** Bucket size as seconds of rate: how much burst a quiet tenant may send at once. */
  burstS: number
}

interface Buckets {
  requests: number
  records: number
  at: number
}

export class TenantRateLimiter {
  private readonly buckets = new Map<string, Buckets>()

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Undefined when admitted (and the tokens taken); else the seconds to wait before retrying. */
  take(tenant: string, records: number): number | undefined {
    const { requestsPerS, recordsPerS, burstS } = this.limits
    const now = this.now()
    let b = this.buckets.get(tenant)
    if (!b) {
      b = { requests: requestsPerS * burstS, records: recordsPerS * burstS, at: now }
      this.buckets.set(tenant, b)
    }
    const elapsedS = Math.max(0, (now - b.at) / 1000)
    b.requests = Math.min(requestsPerS * burstS, b.requests + elapsedS * requestsPerS)
    b.records = Math.min(recordsPerS * burstS, b.records + elapsedS * recordsPerS)
    b.at = now
    // A body larger than the whole bucket could never fit: it waits for a full bucket and goes
    // through then, rather than being refused for ever.
    const recordsNeeded = Math.min(records, recordsPerS * burstS)
    if (b.requests >= 1 && b.records >= recordsNeeded) {
      b.requests -= 1
      b.records -= recordsNeeded
      return undefined
    }
    const waitRequests = b.requests >= 1 ? 0 : (1 - b.requests) / requestsPerS
    const waitRecords = b.records >= recordsNeeded ? 0 : (recordsNeeded - b.records) / recordsPerS
    return Math.max(1, Math.ceil(Math.max(waitRequests, waitRecords)))
  }
}
