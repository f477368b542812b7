import { FAMILIES } from './families.ts'
import { metricCatalogues } from './node-metrics/index.ts'

/**
 * What an agent schedules, each on its own interval: the typed families (cpu, memory, …), the agent's
 * own health, and every node_exporter collector (netstat, hwmon, …), which travel as `metrics` records
 * under their own names. `metrics` itself is a record type, not a schedule entry. A contract: the
 * agent schedules these and the query API validates a control request against the same list.
 */
export const SCHEDULED: readonly string[] = [
  ...FAMILIES.filter((f) => f !== 'metrics'),
  ...metricCatalogues().map((c) => c.collector),
]
const SCHEDULED_SET = new Set(SCHEDULED)

export function isScheduled(name: string): boolean {
  return SCHEDULED_SET.has(name)
}

const COLLECTOR_FLOOR_MS: Readonly<Record<string, number>> = Object.fromEntries(
  metricCatalogues().map((c) => [c.collector, c.minDefaultIntervalMs ?? 0]),
)

/** The interval a collector of slow-changing input is not run faster than unless named (0: none). */
export function collectorFloorMs(name: string): number {
  return COLLECTOR_FLOOR_MS[name] ?? 0
}

/** Every collector's floor, for the agent's default schedule. */
export function collectorFloors(): Readonly<Record<string, number>> {
  return COLLECTOR_FLOOR_MS
}
