/**
 * What a host report shows: one row per family, with its unit and the threshold whose time above it
 * the report counts. The thresholds (documented in query-api/README.md) are the usual alerting
 * levels: a CPU or memory above 90 %, a filesystem above 90 % full, a pressure stall (PSI) "some"
 * above 10 % of the time or "full" above 5 %, and a 1-minute load above the host's CPU count.
 */

export type Unit = 'percent' | 'bytes_per_s' | 'load'
export type SpikeGroup = 'cpu' | 'pressure' | 'disk' | 'network'

export interface FamilyDef {
  id: string
  title: string
  unit: Unit
  threshold?: number
  spikes?: SpikeGroup
}

export const THRESHOLDS = {
  cpuBusyPercent: 90,
  memoryUsedPercent: 90,
  filesystemUsedPercent: 90,
  pressureSomePercent: 10,
  pressureFullPercent: 5,
} as const

export const FAMILIES: readonly FamilyDef[] = [
  { id: 'cpu_busy', title: 'CPU busy', unit: 'percent', threshold: THRESHOLDS.cpuBusyPercent, spikes: 'cpu' },
  { id: 'memory_used', title: 'Memory used', unit: 'percent', threshold: THRESHOLDS.memoryUsedPercent },
  { id: 'load1', title: 'Load (1 min)', unit: 'load' },
  {
    id: 'psi_cpu_some',
    title: 'CPU pressure, some',
    unit: 'percent',
    threshold: THRESHOLDS.pressureSomePercent,
    spikes: 'pressure',
  },
  {
    id: 'psi_memory_some',
    title: 'Memory pressure, some',
    unit: 'percent',
    threshold: THRESHOLDS.pressureSomePercent,
    spikes: 'pressure',
  },
  {
    id: 'psi_memory_full',
    title: 'Memory pressure, full',
    unit: 'percent',
    threshold: THRESHOLDS.pressureFullPercent,
    spikes: 'pressure',
  },
  {
    id: 'psi_io_some',
    title: 'IO pressure, some',
    unit: 'percent',
    threshold: THRESHOLDS.pressureSomePercent,
    spikes: 'pressure',
  },
  {
    id: 'psi_io_full',
    title: 'IO pressure, full',
    unit: 'percent',
    threshold: THRESHOLDS.pressureFullPercent,
    spikes: 'pressure',
  },
  { id: 'disk_read', title: 'Disk read', unit: 'bytes_per_s', spikes: 'disk' },
  { id: 'disk_write', title: 'Disk write', unit: 'bytes_per_s', spikes: 'disk' },
  { id: 'net_rx', title: 'Network received', unit: 'bytes_per_s', spikes: 'network' },
  { id: 'net_tx', title: 'Network sent', unit: 'bytes_per_s', spikes: 'network' },
  {
    id: 'filesystem_used',
    title: 'Filesystem used (fullest)',
    unit: 'percent',
    threshold: THRESHOLDS.filesystemUsedPercent,
  },
]

export const SPIKE_GROUPS: readonly { id: SpikeGroup; title: string }[] = [
  { id: 'cpu', title: 'CPU' },
  { id: 'pressure', title: 'Pressure' },
  { id: 'disk', title: 'Disk' },
  { id: 'network', title: 'Network' },
]

/**
 * Devices and filesystems left out, as the dashboard leaves them out by default (the same lists as
 * query-api/public/transform.js and fleet-query.ts): their traffic never leaves the host or is
 * counted again on the physical device, and a tmpfs "full" is RAM, not disk.
 */
export const VIRTUAL_DEVICE = /^(lo|loop[0-9]+|ram[0-9]+|zram[0-9]+|fd[0-9]+|veth.*|docker.*)$/
export const VIRTUAL_FSTYPE =
  /^(tmpfs|devtmpfs|ramfs|rootfs|overlay|squashfs|nsfs|iso9660|efivarfs|fuse\.lxcfs)$/
