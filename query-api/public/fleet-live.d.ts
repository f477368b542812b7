// Types of what the unit tests (query-api/src/dashboard-live.test.ts) import from fleet-live.js.

import type { LiveMessage } from './live.js'

export interface FleetHost {
  host_id: string
  hostname: string
  last_seen_ms: number | null
  cpu_busy: number | null
  mem_used: number | null
  disk_bytes_per_s: number | null
  net_bytes_per_s: number | null
  spark: Record<'cpu' | 'mem' | 'disk' | 'net', (number | null)[]>
}
export interface FleetAnswer {
  timestamps: number[]
  stepMs: number | null
  hosts: FleetHost[]
}

export const FLEET_LIVE_METRICS: string[]
export function fleetSignals(
  message: LiveMessage,
): Map<number, { cpu?: number | null; disk?: number; net?: number; memTotal?: number; memAvailable?: number }>
export function createFleetLive(): {
  load(response: FleetAnswer): void
  apply(message: LiveMessage): 'unknown' | 'changed' | 'none'
  slide(nowMs: number): void
  response(): FleetAnswer
}
