import type { MetricFamilyInfo } from '../metric-model.ts'
import type { MetricCatalogue } from './index.ts'

/** node_watchdog_<metric> and the attribute of /sys/class/watchdog/<watchdog> it reads. */
const ATTRIBUTES: readonly (readonly [metric: string, file: string])[] = [
  ['bootstatus', 'bootstatus'],
  ['fw_version', 'fw_version'],
  ['nowayout', 'nowayout'],
  ['timeleft_seconds', 'timeleft'],
  ['timeout_seconds', 'timeout'],
  ['pretimeout_seconds', 'pretimeout'],
  ['access_cs0', 'access_cs0'],
]

/** node_exporter collector/watchdog.go. */
export const WATCHDOG: MetricCatalogue = {
  collector: 'watchdog',
  metrics: [
    { name: 'node_watchdog_info', help: 'Info of /sys/class/watchdog/<watchdog>', type: 'gauge' },
    ...ATTRIBUTES.map(([metric, file]): MetricFamilyInfo => ({
      name: `node_watchdog_${metric}`,
      help: `Value of /sys/class/watchdog/<watchdog>/${file}`,
      type: 'gauge',
    })),
  ],
}
