import type { Envelope } from '#schemas/src/families.ts'

/** One agent instance, with the tenant and host its rows are sorted under (for an indexed lookup). */
export interface AgentRef {
  tenant: string
  host: string
  agentId: string
}

/**
 * An agent's identity for sequence numbers: its id within its tenant and host. Agent ids come from
 * the sender, so one tenant (or host) reusing another's id must not make the guard drop the other's
 * envelopes as repeats.
 */
export function agentKey(a: AgentRef): string {
  return `${a.tenant}\u0000${a.host}\u0000${a.agentId}`
}

/** Highest stored `seq` per agentKey, for the agents asked about that have any. */
export type StoredSequences = (agents: AgentRef[]) => Promise<Map<string, number>>

/**
 * Drops envelopes an agent sent twice. An agent sends its envelopes in `seq` order and resends only
 * what Kafka never acknowledged, but a resend after the agent was killed mid-request goes out under a
 * new producer id, so Kafka cannot tell it from new data and the same envelopes arrive at other
 * offsets. Anything at or below the highest `seq` already stored for its agent (the `agent_id` within its
 * tenant and host) is such a repeat.
 *
 * The highest stored seq is looked up in the sample log the first time an agent is seen, and again
 * after every rebalance (`reset`), because another processor may have stored more of it meanwhile.
 */
export class SequenceGuard {
  private readonly highest = new Map<string, number>()

  constructor(private readonly stored: StoredSequences) {}

  reset(): void {
    this.highest.clear()
  }

  /** Look up, in one query, every agent of these envelopes not seen since the last reset. */
  async prepare(envelopes: readonly Envelope[]): Promise<void> {
    const unknown = new Map<string, AgentRef>()
    for (const e of envelopes) {
      const ref = refOf(e)
      const key = agentKey(ref)
      if (!this.highest.has(key) && !unknown.has(key)) unknown.set(key, ref)
    }
    if (unknown.size === 0) return
    const found = await this.stored([...unknown.values()])
    for (const key of unknown.keys()) this.highest.set(key, found.get(key) ?? -1)
  }

  /**
   * Forget these envelopes' agents, so the next prepare reads their highest stored seq again. For a
   * chunk that failed after admitting envelopes it did not store: kept, they would make its retry
   * drop them as repeats. An agent's host maps to one partition, so no other partition is affected.
   */
  forget(envelopes: readonly Envelope[]): void {
    for (const e of envelopes) this.highest.delete(agentKey(refOf(e)))
  }

  /** Whether the envelope is new; a new one raises the agent's highest seq. Call prepare first. */
  admit(env: Envelope): boolean {
    const key = agentKey(refOf(env))
    const highest = this.highest.get(key) ?? -1
    if (env.seq <= highest) return false
    this.highest.set(key, env.seq)
    return true
  }
}

function refOf(e: Envelope): AgentRef {
  return { tenant: e.tenant, host: e.host_id, agentId: e.agent_id }
}
