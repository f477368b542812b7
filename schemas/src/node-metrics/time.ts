import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/time.go and time_linux.go. */
export const TIME: MetricCatalogue = {
  collector: 'time',
  metrics: [
    { name: 'node_time_seconds', help: 'System time in seconds since epoch (1970).', type: 'gauge' },
    { name: 'node_time_zone_offset_seconds', help: 'System time zone offset in seconds.', type: 'gauge' },
    {
      name: 'node_time_clocksource_available_info',
      help: "Available clocksources read from '/sys/devices/system/clocksource'.",
      type: 'gauge',
    },
    {
      name: 'node_time_clocksource_current_info',
      help: "Current clocksource read from '/sys/devices/system/clocksource'.",
      type: 'gauge',
    },
  ],
}
