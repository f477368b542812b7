import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/mdadm_linux.go. */
export const MDADM: MetricCatalogue = {
  collector: 'mdadm',
  minDefaultIntervalMs: 10_000,
  metrics: [
    { name: 'node_md_state', help: 'Indicates the state of md-device.', type: 'gauge' },
    { name: 'node_md_disks', help: 'Number of active/failed/spare disks of device.', type: 'gauge' },
    { name: 'node_md_disks_required', help: 'Total number of disks of device.', type: 'gauge' },
    { name: 'node_md_blocks', help: 'Total number of blocks on device.', type: 'gauge' },
    { name: 'node_md_blocks_synced', help: 'Number of blocks synced on device.', type: 'gauge' },
    { name: 'node_md_raid_disks', help: 'Number of raid disks on device.', type: 'gauge' },
    { name: 'node_md_degraded', help: 'Number of degraded disks on device.', type: 'gauge' },
  ],
}
