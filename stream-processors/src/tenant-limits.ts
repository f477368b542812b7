import type { Envelope } from '#schemas/src/families.ts'

/** Hosts already stored per tenant, for the tenants asked about. */
export type StoredHosts = (tenants: string[]) => Promise<Map<string, string[]>>

/**
 * A cap on how many hosts one tenant may send for, so one tenant's runaway fleet (or a sender
 * inventing a host id per sample) cannot grow the series count without bound. A host already stored
 * is always admitted; a new one only while the tenant is under its cap. The known hosts come from the
 * sample log the first time a tenant is seen and again after every rebalance.
 */
export class TenantHostLimit {
  private readonly hosts = new Map<string, Set<string>>()

  constructor(
    readonly maxHosts: number,
    private readonly stored: StoredHosts,
  ) {}

  reset(): void {
    this.hosts.clear()
  }

  async prepare(envelopes: readonly Envelope[]): Promise<void> {
    const unknown = [...new Set(envelopes.map((e) => e.tenant))].filter((t) => !this.hosts.has(t))
    if (unknown.length === 0) return
    const found = await this.stored(unknown)
    for (const t of unknown) this.hosts.set(t, new Set(found.get(t) ?? []))
  }

  /** Whether the envelope's host may be stored; a new host within the cap becomes known. */
  admit(env: Envelope): boolean {
    let known = this.hosts.get(env.tenant)
    if (!known) this.hosts.set(env.tenant, (known = new Set()))
    if (known.has(env.host_id)) return true
    if (known.size >= this.maxHosts) return false
    known.add(env.host_id)
    return true
  }
}
