import type { Envelope } from '#schemas/src/families.ts'

/** An envelope read this long after it was sampled means its agent is sending a backlog. */
export const LATE_AFTER_MS = 10_000
/** Agents heard from within this are counted at all; older ones are forgotten (gone, or moved). */
export const FORGET_AFTER_MS = 5 * 60_000
/** Bounds what tracking costs, whatever a fleet (or a hostile tenant) sends: past it, new agents go uncounted. */
export const MAX_AGENTS = 200_000

interface AgentState {
  lastReadMs: number
  intervalMs: number
  /** How long before its reading the agent's newest envelope was sampled. */
  delayMs: number
  /** What its newest `agent` record said was spooled on disk. */
  spoolRecords: number
}

export interface AgentCounts {
  /** Heard from in the last FORGET_AFTER_MS. */
  reporting: number
  /** Its newest envelope was sampled more than LATE_AFTER_MS before it was read (a backlog). */
  late: number
  /** Nothing read from it for more than three of its intervals (and at least LATE_AFTER_MS). */
  silent: number
  /** Its newest `agent` record reports records spooled on disk. */
  spooling: number
}

/**
 * The fleet's agents as this processor sees them, reduced to counts: the processor reads every
 * envelope, so it knows which agents are behind or spooling without anything per host leaving it.
 * Its /metrics shows only the counts (no tenant, host or agent names: that page is installation
 * wide). An agent's envelopes all go to one partition (keyed by tenant and host), so the counts of
 * the group's members add up to the fleet's.
 */
export class AgentStates {
  private readonly agents = new Map<string, AgentState>()

  observe(tenant: string, env: Envelope, nowMs: number): void {
    const key = `${tenant}\u0000${env.host_id}\u0000${env.agent_id}`
    let state = this.agents.get(key)
    if (state === undefined) {
      if (this.agents.size >= MAX_AGENTS) this.sweep(nowMs)
      if (this.agents.size >= MAX_AGENTS) return
      state = { lastReadMs: nowMs, intervalMs: env.interval_ms, delayMs: 0, spoolRecords: 0 }
      this.agents.set(key, state)
    }
    state.lastReadMs = nowMs
    if (env.interval_ms > 0) state.intervalMs = env.interval_ms
    state.delayMs = Math.max(0, nowMs - env.ts_us / 1000)
    if (env.sample.family === 'agent') state.spoolRecords = env.sample.data.spool_records
  }

  counts(nowMs: number): AgentCounts {
    this.sweep(nowMs)
    const counts: AgentCounts = { reporting: 0, late: 0, silent: 0, spooling: 0 }
    for (const s of this.agents.values()) {
      counts.reporting++
      if (s.delayMs > LATE_AFTER_MS) counts.late++
      if (nowMs - s.lastReadMs > Math.max(LATE_AFTER_MS, 3 * s.intervalMs)) counts.silent++
      if (s.spoolRecords > 0) counts.spooling++
    }
    return counts
  }

  /** After a rebalance this member may own other agents: it counts them again as they arrive. */
  reset(): void {
    this.agents.clear()
  }

  private sweep(nowMs: number): void {
    for (const [key, s] of this.agents) if (nowMs - s.lastReadMs > FORGET_AFTER_MS) this.agents.delete(key)
  }
}
