import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/udp_queues_linux.go. */
export const UDP_QUEUES: MetricCatalogue = {
  collector: 'udp_queues',
  metrics: [
    {
      name: 'node_udp_queues',
      help: 'Number of allocated memory in the kernel for UDP datagrams in bytes.',
      type: 'gauge',
    },
  ],
}
