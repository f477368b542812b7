import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/softnet_linux.go. */
export const SOFTNET: MetricCatalogue = {
  collector: 'softnet',
  metrics: [
    { name: 'node_softnet_processed_total', help: 'Number of processed packets', type: 'counter' },
    { name: 'node_softnet_dropped_total', help: 'Number of dropped packets', type: 'counter' },
    {
      name: 'node_softnet_times_squeezed_total',
      help: 'Number of times processing packets ran out of quota',
      type: 'counter',
    },
    {
      name: 'node_softnet_cpu_collision_total',
      help: 'Number of collision occur while obtaining device lock while transmitting',
      type: 'counter',
    },
    {
      name: 'node_softnet_received_rps_total',
      help: 'Number of times cpu woken up received_rps',
      type: 'counter',
    },
    {
      name: 'node_softnet_flow_limit_count_total',
      help: 'Number of times flow limit has been reached',
      type: 'counter',
    },
    { name: 'node_softnet_backlog_len', help: 'Softnet backlog status', type: 'gauge' },
  ],
}
