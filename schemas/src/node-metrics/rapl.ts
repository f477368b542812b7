import type { MetricCatalogue } from './index.ts'

/** `node_rapl_<zone>_joules_total`, the zone's name sanitized (`package`, `core`, `uncore`, `dram`, `psys`). */
const ZONE_METRIC = /^node_rapl_(\w+)_joules_total$/

/** node_exporter collector/rapl_linux.go. */
export const RAPL: MetricCatalogue = {
  collector: 'rapl',
  metrics: [{ name: 'node_rapl_joules_total', help: 'Current RAPL value in joules', type: 'counter' }],
  dynamic: (name) => {
    const zone = ZONE_METRIC.exec(name)?.[1]
    if (zone === undefined) return undefined
    return { name, help: `Current RAPL ${zone} value in joules`, type: 'counter' }
  },
}
