import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/bonding_linux.go. */
export const BONDING: MetricCatalogue = {
  collector: 'bonding',
  metrics: [
    { name: 'node_bonding_active', help: 'Number of active slaves per bonding interface.', type: 'gauge' },
    {
      name: 'node_bonding_slaves',
      help: 'Number of configured slaves per bonding interface.',
      type: 'gauge',
    },
  ],
}
