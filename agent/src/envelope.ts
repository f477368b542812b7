import type { Envelope, Sample } from '../../schemas/src/families.ts'
import type { AgentIdentity } from './identity.ts'

/** Where a sample comes from: the tenant it is sent for and the agent's identity. */
export interface SampleOrigin {
  tenant: string
  id: AgentIdentity
}

/** A family sample as the envelope the wire carries. */
export function envelopeOf(
  origin: SampleOrigin,
  seq: number,
  tsUs: number,
  intervalMs: number,
  sample: Sample,
): Envelope {
  return {
    tenant: origin.tenant,
    host_id: origin.id.hostId,
    hostname: origin.id.hostname,
    agent_id: origin.id.agentId,
    seq,
    ts_us: tsUs,
    interval_ms: intervalMs,
    sample,
  }
}
