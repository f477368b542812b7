import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/thermal_zone_linux.go. */
export const THERMAL_ZONE: MetricCatalogue = {
  collector: 'thermal_zone',
  metrics: [
    { name: 'node_thermal_zone_temp', help: 'Zone temperature in Celsius', type: 'gauge' },
    {
      name: 'node_cooling_device_cur_state',
      help: 'Current throttle state of the cooling device',
      type: 'gauge',
    },
    {
      name: 'node_cooling_device_max_state',
      help: 'Maximum throttle state of the cooling device',
      type: 'gauge',
    },
  ],
}
