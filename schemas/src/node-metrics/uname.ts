import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/uname.go. */
export const UNAME: MetricCatalogue = {
  collector: 'uname',
  minDefaultIntervalMs: 60_000,
  metrics: [
    {
      name: 'node_uname_info',
      help: 'Labeled system information as provided by the uname system call.',
      type: 'gauge',
    },
  ],
}
