import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'

export interface AgentIdentity {
  hostId: string
  hostname: string
  /** New at every start, so (agent_id, seq) never repeats even though seq restarts at 0. */
  agentId: string
}

/** machine-id survives reboots and renames; the hostname is the fallback where there is none. */
export function resolveIdentity(
  explicitHostId: string | undefined,
  machineIdPath = '/etc/machine-id',
): AgentIdentity {
  let hostId = explicitHostId
  if (hostId === undefined) {
    try {
      hostId = readFileSync(machineIdPath, 'utf8').trim() || undefined
    } catch {
      hostId = undefined
    }
  }
  return { hostId: hostId ?? hostname(), hostname: hostname(), agentId: randomUUID() }
}
