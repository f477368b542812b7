import type { MetricCatalogue } from './index.ts'

/**
 * node_exporter collector/btrfs_linux.go, the names it prints from sysfs. The per-device
 * node_btrfs_device_unused_bytes and node_btrfs_device_errors_total come from btrfs ioctls only,
 * which the agent cannot make, so they are not declared.
 */
export const BTRFS: MetricCatalogue = {
  collector: 'btrfs',
  metrics: [
    {
      name: 'node_btrfs_allocation_ratio',
      help: 'Data allocation ratio for a layout/data type',
      type: 'gauge',
    },
    {
      name: 'node_btrfs_commit_seconds_total',
      help: 'Sum of the duration of all commits, in seconds.',
      type: 'counter',
    },
    {
      name: 'node_btrfs_commits_total',
      help: 'The total number of commits that have occurred.',
      type: 'counter',
    },
    {
      name: 'node_btrfs_device_size_bytes',
      help: 'Size of a device that is part of the filesystem.',
      type: 'gauge',
    },
    { name: 'node_btrfs_global_rsv_size_bytes', help: 'Size of global reserve.', type: 'gauge' },
    { name: 'node_btrfs_info', help: 'Filesystem information', type: 'gauge' },
    {
      name: 'node_btrfs_last_commit_seconds',
      help: 'Duration of the most recent commit, in seconds.',
      type: 'gauge',
    },
    {
      name: 'node_btrfs_max_commit_seconds',
      help: 'Duration of the slowest commit, in seconds.',
      type: 'gauge',
    },
    { name: 'node_btrfs_reserved_bytes', help: 'Amount of space reserved for a data type', type: 'gauge' },
    {
      name: 'node_btrfs_size_bytes',
      help: 'Amount of space allocated for a layout/data type',
      type: 'gauge',
    },
    { name: 'node_btrfs_used_bytes', help: 'Amount of used space by a layout/data type', type: 'gauge' },
  ],
}
