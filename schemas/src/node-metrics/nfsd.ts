import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/nfsd_linux.go. */
export const NFSD: MetricCatalogue = {
  collector: 'nfsd',
  metrics: [
    { name: 'node_nfsd_connections_total', help: 'Total number of NFSd TCP connections.', type: 'counter' },
    { name: 'node_nfsd_disk_bytes_read_total', help: 'Total NFSd bytes read.', type: 'counter' },
    { name: 'node_nfsd_disk_bytes_written_total', help: 'Total NFSd bytes written.', type: 'counter' },
    {
      name: 'node_nfsd_file_handles_stale_total',
      help: 'Total number of NFSd stale file handles',
      type: 'counter',
    },
    {
      name: 'node_nfsd_packets_total',
      help: 'Total NFSd network packets (sent+received) by protocol type.',
      type: 'counter',
    },
    {
      name: 'node_nfsd_read_ahead_cache_not_found_total',
      help: 'Total number of NFSd read ahead cache not found.',
      type: 'counter',
    },
    {
      name: 'node_nfsd_read_ahead_cache_size_blocks',
      help: 'How large the read ahead cache is in blocks.',
      type: 'gauge',
    },
    {
      name: 'node_nfsd_reply_cache_hits_total',
      help: 'Total number of NFSd Reply Cache hits (client lost server response).',
      type: 'counter',
    },
    {
      name: 'node_nfsd_reply_cache_misses_total',
      help: 'Total number of NFSd Reply Cache an operation that requires caching (idempotent).',
      type: 'counter',
    },
    {
      name: 'node_nfsd_reply_cache_nocache_total',
      help: 'Total number of NFSd Reply Cache non-idempotent operations (rename/delete/…).',
      type: 'counter',
    },
    {
      name: 'node_nfsd_requests_total',
      help: 'Total number NFSd Requests by method and protocol.',
      type: 'counter',
    },
    {
      name: 'node_nfsd_rpc_errors_total',
      help: 'Total number of NFSd RPC errors by error type.',
      type: 'counter',
    },
    { name: 'node_nfsd_server_rpcs_total', help: 'Total number of NFSd RPCs.', type: 'counter' },
    {
      name: 'node_nfsd_server_threads',
      help: 'Total number of NFSd kernel threads that are running.',
      type: 'gauge',
    },
  ],
}
