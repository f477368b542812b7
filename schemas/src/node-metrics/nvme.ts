import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/nvme_linux.go. */
export const NVME: MetricCatalogue = {
  collector: 'nvme',
  minDefaultIntervalMs: 10_000,
  metrics: [
    {
      name: 'node_nvme_info',
      help: 'Non-numeric data from /sys/class/nvme/<device>, value is always 1.',
      type: 'gauge',
    },
    {
      name: 'node_nvme_namespace_info',
      help: 'Information about NVMe namespaces. Value is always 1',
      type: 'gauge',
    },
    {
      name: 'node_nvme_namespace_capacity_bytes',
      help: 'Capacity of the NVMe namespace in bytes. Computed as namespace_size * namespace_logical_block_size',
      type: 'gauge',
    },
    {
      name: 'node_nvme_namespace_size_bytes',
      help: 'Size of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/size',
      type: 'gauge',
    },
    {
      name: 'node_nvme_namespace_used_bytes',
      help: 'Used space of the NVMe namespace in bytes. Available in /sys/class/nvme/<device>/<namespace>/nuse',
      type: 'gauge',
    },
    {
      name: 'node_nvme_namespace_logical_block_size_bytes',
      help: 'Logical block size of the NVMe namespace in bytes. Usually 4Kb. Available in /sys/class/nvme/<device>/<namespace>/queue/logical_block_size',
      type: 'gauge',
    },
  ],
}
