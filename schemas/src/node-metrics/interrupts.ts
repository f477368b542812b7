import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/interrupts_common.go. */
export const INTERRUPTS: MetricCatalogue = {
  collector: 'interrupts',
  minDefaultIntervalMs: 10_000,
  metrics: [{ name: 'node_interrupts_total', help: 'Interrupt details.', type: 'counter' }],
}
