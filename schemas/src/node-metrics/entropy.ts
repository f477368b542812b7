import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/entropy_linux.go. */
export const ENTROPY: MetricCatalogue = {
  collector: 'entropy',
  metrics: [
    { name: 'node_entropy_available_bits', help: 'Bits of available entropy.', type: 'gauge' },
    { name: 'node_entropy_pool_size_bits', help: 'Bits of entropy pool.', type: 'gauge' },
  ],
}
