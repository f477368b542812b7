import type { MetricCatalogue } from './index.ts'

/**
 * node_exporter collector/diskstats_linux.go: the series its diskstats collector builds from sysfs
 * and the udev database rather than from /proc/diskstats (those are the typed `disk` family's).
 */
export const DISKINFO: MetricCatalogue = {
  collector: 'diskinfo',
  minDefaultIntervalMs: 10_000,
  metrics: [
    { name: 'node_disk_info', help: 'Info of /sys/block/<block_device>.', type: 'gauge' },
    { name: 'node_disk_filesystem_info', help: 'Info about disk filesystem.', type: 'gauge' },
    { name: 'node_disk_device_mapper_info', help: 'Info about disk device mapper.', type: 'gauge' },
    { name: 'node_disk_ata_write_cache', help: 'ATA disk has a write cache.', type: 'gauge' },
    {
      name: 'node_disk_ata_write_cache_enabled',
      help: 'ATA disk has its write cache enabled.',
      type: 'gauge',
    },
    {
      name: 'node_disk_ata_rotation_rate_rpm',
      help: 'ATA disk rotation rate in RPMs (0 for SSDs).',
      type: 'gauge',
    },
  ],
}
