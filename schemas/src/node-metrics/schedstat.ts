import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/schedstat_linux.go. */
export const SCHEDSTAT: MetricCatalogue = {
  collector: 'schedstat',
  metrics: [
    {
      name: 'node_schedstat_running_seconds_total',
      help: 'Number of seconds CPU spent running a process.',
      type: 'counter',
    },
    {
      name: 'node_schedstat_waiting_seconds_total',
      help: 'Number of seconds spent by processing waiting for this CPU.',
      type: 'counter',
    },
    {
      name: 'node_schedstat_timeslices_total',
      help: 'Number of timeslices executed by CPU.',
      type: 'counter',
    },
  ],
}
