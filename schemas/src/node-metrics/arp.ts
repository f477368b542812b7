import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/arp_linux.go (its /proc/net/arp path: no node_arp_states). */
export const ARP: MetricCatalogue = {
  collector: 'arp',
  metrics: [{ name: 'node_arp_entries', help: 'ARP entries by device', type: 'gauge' }],
}
