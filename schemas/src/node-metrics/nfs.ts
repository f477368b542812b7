import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/nfs_linux.go (the NFS client; its HELP texts say NFSd, as node_exporter's do). */
export const NFS: MetricCatalogue = {
  collector: 'nfs',
  metrics: [
    { name: 'node_nfs_connections_total', help: 'Total number of NFSd TCP connections.', type: 'counter' },
    {
      name: 'node_nfs_packets_total',
      help: 'Total NFSd network packets (sent+received) by protocol type.',
      type: 'counter',
    },
    { name: 'node_nfs_requests_total', help: 'Number of NFS procedures invoked.', type: 'counter' },
    {
      name: 'node_nfs_rpc_authentication_refreshes_total',
      help: 'Number of RPC authentication refreshes performed.',
      type: 'counter',
    },
    {
      name: 'node_nfs_rpc_retransmissions_total',
      help: 'Number of RPC transmissions performed.',
      type: 'counter',
    },
    { name: 'node_nfs_rpcs_total', help: 'Total number of RPCs performed.', type: 'counter' },
  ],
}
