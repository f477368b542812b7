import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/ipvs_linux.go. */
export const IPVS: MetricCatalogue = {
  collector: 'ipvs',
  metrics: [
    {
      name: 'node_ipvs_backend_connections_active',
      help: 'The current active connections by local and remote address.',
      type: 'gauge',
    },
    {
      name: 'node_ipvs_backend_connections_inactive',
      help: 'The current inactive connections by local and remote address.',
      type: 'gauge',
    },
    {
      name: 'node_ipvs_backend_weight',
      help: 'The current backend weight by local and remote address.',
      type: 'gauge',
    },
    { name: 'node_ipvs_connections_total', help: 'The total number of connections made.', type: 'counter' },
    { name: 'node_ipvs_incoming_bytes_total', help: 'The total amount of incoming data.', type: 'counter' },
    {
      name: 'node_ipvs_incoming_packets_total',
      help: 'The total number of incoming packets.',
      type: 'counter',
    },
    { name: 'node_ipvs_outgoing_bytes_total', help: 'The total amount of outgoing data.', type: 'counter' },
    {
      name: 'node_ipvs_outgoing_packets_total',
      help: 'The total number of outgoing packets.',
      type: 'counter',
    },
  ],
}
