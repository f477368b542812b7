import { AGENT_METRICS, agentPoints } from './agent-metrics.ts'
import type { Family, FamilyRecords, Sample } from './families.ts'
import { METRIC_NAME, type EmitPoint, type MetricFamilyInfo } from './metric-model.ts'
import { nodeMetricInfo } from './node-metrics/index.ts'
import type {
  CpuSample,
  DiskSample,
  FilesystemSample,
  LoadSample,
  MemorySample,
  MetricsSample,
  NetworkSample,
  PressureSample,
  VmstatSample,
} from './records.ts'

/**
 * The family records as node_exporter 1.12 exposes them on Linux: metric names, labels, units,
 * HELP text and TYPE. Used by the agent's `--format prometheus` and by the stream processor that
 * turns records into rows, so both agree with each other and with node_exporter. Held to
 * node_exporter's own end-to-end output by agent/src/typed-families.fixture.test.ts.
 *
 * Followed, in prometheus/node_exporter:
 *   collector/cpu_linux.go + cpu_common.go   node_cpu_seconds_total, node_cpu_guest_seconds_total
 *   collector/stat_linux.go                  node_intr_total … node_procs_blocked
 *   collector/meminfo.go + meminfo_linux.go  node_memory_*
 *   collector/netdev_common.go + netdev_linux.go (procfs path and legacy() names)
 *   collector/diskstats_linux.go + diskstats_common.go
 *   collector/loadavg.go
 *   collector/pressure_linux.go              node_pressure_* (cpu `some` only; io and memory some + full; irq full)
 *   collector/vmstat_linux.go                node_vmstat_* for --collector.vmstat.fields' default
 *   collector/filesystem_common.go + filesystem_linux.go   node_filesystem_*
 *
 * Deliberate differences, each because the /proc record alone cannot carry node_exporter's input:
 * node_disk_info and the udev/sysfs disk metrics come from the agent's `diskinfo` collector, not
 * from this record; node_exporter holds back a CPU counter that goes backwards between scrapes,
 * which a stateless mapping cannot, so raw values pass through. node_exporter reads the network
 * counters over netlink by default (--collector.netdev.netlink) and renames them to the
 * /proc/net/dev names used here (netdev legacy()); netlink's extra receive_nohandler has no
 * /proc/net/dev column and is not produced. node_softirqs_total (stat_linux.go, only with
 * --collector.stat.softirq) needs /proc/stat's softirq line, which the cpu record does not carry.
 * node_pressure_cpu_stalled_seconds_total is not produced (node_exporter 1.12 does not either),
 * though the record keeps cpu's full line.
 *
 * Not yet followed (node_exporter's end-to-end test covers neither): since 1.8 node_exporter also
 * leaves zram devices out of node_disk_* (agent/src/collectors/diskstats.ts keeps 1.5's exclusion);
 * node_filesystem_* still have 1.5's shape, where 1.8+ add a `device_error` label, 1.7+ print
 * readonly for a filesystem statfs failed on, and 1.9+ add node_filesystem_mount_info (device
 * major:minor, which the filesystem record does not carry).
 */

export type { EmitPoint, Labels, MetricFamilyInfo, MetricPoint, MetricType } from './metric-model.ts'

/** Kernel sectors in /proc/diskstats are always 512 bytes, whatever the device's block size. */
const SECTOR_BYTES = 512
/**
 * node_exporter multiplies milliseconds by float64(1.0/1000.0) rather than dividing by 1000; the
 * two differ in the last bit for about one value in eight, so multiply to print the same number.
 */
const SECONDS_PER_MS = 1 / 1000
/** procfs (and so node_exporter) divides /proc/stat ticks by 100, Linux's fixed USER_HZ. */
const DEFAULT_USER_HZ = 100

const NETWORK_COUNTERS = [
  ['receive_bytes', 'rx_bytes'],
  ['receive_packets', 'rx_packets'],
  ['receive_errs', 'rx_errs'],
  ['receive_drop', 'rx_drop'],
  ['receive_fifo', 'rx_fifo'],
  ['receive_frame', 'rx_frame'],
  ['receive_compressed', 'rx_compressed'],
  ['receive_multicast', 'rx_multicast'],
  ['transmit_bytes', 'tx_bytes'],
  ['transmit_packets', 'tx_packets'],
  ['transmit_errs', 'tx_errs'],
  ['transmit_drop', 'tx_drop'],
  ['transmit_fifo', 'tx_fifo'],
  ['transmit_colls', 'tx_colls'],
  ['transmit_carrier', 'tx_carrier'],
  ['transmit_compressed', 'tx_compressed'],
] as const

const STATIC_INFO: readonly MetricFamilyInfo[] = [
  { name: 'node_cpu_seconds_total', help: 'Seconds the CPUs spent in each mode.', type: 'counter' },
  {
    name: 'node_cpu_guest_seconds_total',
    help: 'Seconds the CPUs spent in guests (VMs) for each mode.',
    type: 'counter',
  },
  { name: 'node_intr_total', help: 'Total number of interrupts serviced.', type: 'counter' },
  { name: 'node_context_switches_total', help: 'Total number of context switches.', type: 'counter' },
  { name: 'node_forks_total', help: 'Total number of forks.', type: 'counter' },
  { name: 'node_boot_time_seconds', help: 'Node boot time, in unixtime.', type: 'gauge' },
  { name: 'node_procs_running', help: 'Number of processes in runnable state.', type: 'gauge' },
  {
    name: 'node_procs_blocked',
    help: 'Number of processes blocked waiting for I/O to complete.',
    type: 'gauge',
  },
  ...NETWORK_COUNTERS.map(([key]): MetricFamilyInfo => ({
    name: `node_network_${key}_total`,
    help: `Network device statistic ${key}.`,
    type: 'counter',
  })),
  {
    name: 'node_disk_reads_completed_total',
    help: 'The total number of reads completed successfully.',
    type: 'counter',
  },
  { name: 'node_disk_reads_merged_total', help: 'The total number of reads merged.', type: 'counter' },
  {
    name: 'node_disk_read_bytes_total',
    help: 'The total number of bytes read successfully.',
    type: 'counter',
  },
  {
    name: 'node_disk_read_time_seconds_total',
    help: 'The total number of seconds spent by all reads.',
    type: 'counter',
  },
  {
    name: 'node_disk_writes_completed_total',
    help: 'The total number of writes completed successfully.',
    type: 'counter',
  },
  { name: 'node_disk_writes_merged_total', help: 'The number of writes merged.', type: 'counter' },
  {
    name: 'node_disk_written_bytes_total',
    help: 'The total number of bytes written successfully.',
    type: 'counter',
  },
  {
    name: 'node_disk_write_time_seconds_total',
    help: 'This is the total number of seconds spent by all writes.',
    type: 'counter',
  },
  { name: 'node_disk_io_now', help: 'The number of I/Os currently in progress.', type: 'gauge' },
  { name: 'node_disk_io_time_seconds_total', help: 'Total seconds spent doing I/Os.', type: 'counter' },
  {
    name: 'node_disk_io_time_weighted_seconds_total',
    help: 'The weighted # of seconds spent doing I/Os.',
    type: 'counter',
  },
  {
    name: 'node_disk_discards_completed_total',
    help: 'The total number of discards completed successfully.',
    type: 'counter',
  },
  { name: 'node_disk_discards_merged_total', help: 'The total number of discards merged.', type: 'counter' },
  {
    name: 'node_disk_discarded_sectors_total',
    help: 'The total number of sectors discarded successfully.',
    type: 'counter',
  },
  {
    name: 'node_disk_discard_time_seconds_total',
    help: 'This is the total number of seconds spent by all discards.',
    type: 'counter',
  },
  {
    name: 'node_disk_flush_requests_total',
    // node_exporter's text has no final period.
    help: 'The total number of flush requests completed successfully',
    type: 'counter',
  },
  {
    name: 'node_disk_flush_requests_time_seconds_total',
    help: 'This is the total number of seconds spent by all flush requests.',
    type: 'counter',
  },
  { name: 'node_load1', help: '1m load average.', type: 'gauge' },
  { name: 'node_load5', help: '5m load average.', type: 'gauge' },
  { name: 'node_load15', help: '15m load average.', type: 'gauge' },
  // node_exporter's pressure texts have no final period.
  {
    name: 'node_pressure_cpu_waiting_seconds_total',
    help: 'Total time in seconds that processes have waited for CPU time',
    type: 'counter',
  },
  {
    name: 'node_pressure_io_waiting_seconds_total',
    help: 'Total time in seconds that processes have waited due to IO congestion',
    type: 'counter',
  },
  {
    name: 'node_pressure_io_stalled_seconds_total',
    help: 'Total time in seconds no process could make progress due to IO congestion',
    type: 'counter',
  },
  {
    name: 'node_pressure_memory_waiting_seconds_total',
    help: 'Total time in seconds that processes have waited for memory',
    type: 'counter',
  },
  {
    name: 'node_pressure_irq_stalled_seconds_total',
    help: 'Total time in seconds no process could make progress due to IRQ congestion',
    type: 'counter',
  },
  {
    name: 'node_pressure_memory_stalled_seconds_total',
    help: 'Total time in seconds no process could make progress due to memory congestion',
    type: 'counter',
  },
  { name: 'node_filesystem_size_bytes', help: 'Filesystem size in bytes.', type: 'gauge' },
  { name: 'node_filesystem_free_bytes', help: 'Filesystem free space in bytes.', type: 'gauge' },
  {
    name: 'node_filesystem_avail_bytes',
    help: 'Filesystem space available to non-root users in bytes.',
    type: 'gauge',
  },
  { name: 'node_filesystem_files', help: 'Filesystem total file nodes.', type: 'gauge' },
  { name: 'node_filesystem_files_free', help: 'Filesystem total free file nodes.', type: 'gauge' },
  { name: 'node_filesystem_readonly', help: 'Filesystem read-only status.', type: 'gauge' },
  {
    name: 'node_filesystem_device_error',
    help: 'Whether an error occurred while getting statistics for the given device.',
    type: 'gauge',
  },
]

const INFO_BY_NAME = new Map([...STATIC_INFO, ...AGENT_METRICS].map((info) => [info.name, info]))

const MEMORY_PREFIX = 'node_memory_'
const PARENTHESES = /\((.*)\)/
/** The only /proc/meminfo lines without a unit (mm/hugetlb.c); node_exporter gives them no `_bytes`. */
const UNITLESS_MEMINFO = /^HugePages_/
const VALID_NAME = METRIC_NAME
/**
 * The /proc/meminfo fields node_exporter exports: since 1.9 it reads procfs's Meminfo struct and
 * exports a fixed list of its fields (collector/meminfo_linux.go; Zswap and Zswapped since 1.10),
 * so newer kernel fields (KReclaimable, SecPageTables, FileHugePages, Hugetlb, …) are not exported.
 * The record keeps every field; only the node_exporter names are limited to these.
 */
export const NODE_EXPORTER_MEMINFO_FIELDS: ReadonlySet<string> = new Set([
  'Active',
  'Active(anon)',
  'Active(file)',
  'AnonHugePages',
  'AnonPages',
  'Bounce',
  'Buffers',
  'Cached',
  'CmaFree',
  'CmaTotal',
  'CommitLimit',
  'Committed_AS',
  'DirectMap1G',
  'DirectMap2M',
  'DirectMap4k',
  'Dirty',
  'HardwareCorrupted',
  'Hugepagesize',
  'Inactive',
  'Inactive(anon)',
  'Inactive(file)',
  'KernelStack',
  'Mapped',
  'MemAvailable',
  'MemFree',
  'MemTotal',
  'Mlocked',
  'NFS_Unstable',
  'PageTables',
  'Percpu',
  'SReclaimable',
  'SUnreclaim',
  'Shmem',
  'ShmemHugePages',
  'ShmemPmdMapped',
  'Slab',
  'SwapCached',
  'SwapFree',
  'SwapTotal',
  'Unevictable',
  'VmallocChunk',
  'VmallocTotal',
  'VmallocUsed',
  'Writeback',
  'WritebackTmp',
  'Zswap',
  'Zswapped',
  'HugePages_Free',
  'HugePages_Rsvd',
  'HugePages_Surp',
  'HugePages_Total',
])

const VMSTAT_PREFIX = 'node_vmstat_'
/**
 * node_exporter's default --collector.vmstat.fields (collector/vmstat_linux.go): page-ins and
 * -outs, swap-ins and -outs, page faults and OOM kills. Matched unanchored at the end, like Go's
 * MatchString.
 */
export const DEFAULT_VMSTAT_FIELDS = /^(oom_kill|pgpg|pswp|pg.*fault).*/
/** PSI totals are microseconds; node_exporter divides by 1000 twice, so do the same for equal bits. */
const US_PER_MS = 1000.0
const MS_PER_S = 1000.0

/** Every metric name with a fixed name this mapping can emit (node_memory_* and node_vmstat_* names depend on the kernel). */
export const STATIC_METRICS: readonly MetricFamilyInfo[] = [...STATIC_INFO, ...AGENT_METRICS]

/** HELP and TYPE of a metric as node_exporter prints them, or undefined for a name it does not emit. */
export function metricInfo(name: string): MetricFamilyInfo | undefined {
  const known = INFO_BY_NAME.get(name) ?? nodeMetricInfo(name)
  if (known !== undefined) return known
  // Any node_memory_ name a collector does not declare (meminfo_numa's node_memory_numa_* have their
  // own text); not only the exported fields, so series stored before a field left the list keep theirs.
  if (name.startsWith(MEMORY_PREFIX) && name.length > MEMORY_PREFIX.length && VALID_NAME.test(name)) {
    const key = name.slice(MEMORY_PREFIX.length)
    // meminfo.go: a key ending in `_total` is typed counter, everything else gauge.
    return {
      name,
      help: `Memory information field ${key}.`,
      type: key.endsWith('_total') ? 'counter' : 'gauge',
    }
  }
  if (name.startsWith(VMSTAT_PREFIX) && VALID_NAME.test(name)) {
    const field = name.slice(VMSTAT_PREFIX.length)
    return { name, help: `/proc/vmstat information field ${field}.`, type: 'untyped' }
  }
  return undefined
}

/**
 * node_exporter's name for a /proc/meminfo field: `Active(anon)` → `node_memory_Active_anon_bytes`,
 * `HugePages_Total` → `node_memory_HugePages_Total`.
 */
export function memoryMetricName(field: string): string {
  const key = field.replace(PARENTHESES, '_$1')
  return UNITLESS_MEMINFO.test(field) ? `${MEMORY_PREFIX}${key}` : `${MEMORY_PREFIX}${key}_bytes`
}

/** Each family's emitter; the mapped type keeps every family covered and each record matched. */
const FAMILY_POINTS: { [F in Family]: (sample: FamilyRecords[F], emit: EmitPoint) => void } = {
  cpu: cpuPoints,
  memory: memoryPoints,
  network: networkPoints,
  disk: diskPoints,
  load: loadPoints,
  pressure: pressurePoints,
  vmstat: vmstatPoints,
  filesystem: filesystemPoints,
  agent: agentPoints,
  metrics: metricsPoints,
}

/** Emit every node_exporter series of one family record. */
export function toMetricPoints<F extends Family>(family: F, sample: FamilyRecords[F], emit: EmitPoint): void {
  const points: (sample: FamilyRecords[F], emit: EmitPoint) => void = FAMILY_POINTS[family]
  points(sample, emit)
}

/** toMetricPoints for a family-tagged sample, as envelopes carry them. */
export function samplePoints(sample: Sample, emit: EmitPoint): void {
  toMetricPoints(sample.family, sample.data, emit)
}

function cpuPoints(sample: CpuSample, emit: EmitPoint): void {
  const hz = sample.user_hz > 0 ? sample.user_hz : DEFAULT_USER_HZ
  for (const t of sample.cpus) {
    // node_exporter exports per-CPU series only; the aggregate line is their sum.
    if (t.cpu < 0) continue
    const cpu = String(t.cpu)
    emit('node_cpu_seconds_total', { cpu, mode: 'user' }, t.user / hz)
    emit('node_cpu_seconds_total', { cpu, mode: 'nice' }, t.nice / hz)
    emit('node_cpu_seconds_total', { cpu, mode: 'system' }, t.system / hz)
    emit('node_cpu_seconds_total', { cpu, mode: 'idle' }, t.idle / hz)
    emit('node_cpu_seconds_total', { cpu, mode: 'iowait' }, t.iowait / hz)
    emit('node_cpu_seconds_total', { cpu, mode: 'irq' }, t.irq / hz)
    emit('node_cpu_seconds_total', { cpu, mode: 'softirq' }, t.softirq / hz)
    emit('node_cpu_seconds_total', { cpu, mode: 'steal' }, t.steal / hz)
    // Guest time is also counted in user and nice; node_exporter shows it separately (--collector.cpu.guest, on by default).
    emit('node_cpu_guest_seconds_total', { cpu, mode: 'user' }, t.guest / hz)
    emit('node_cpu_guest_seconds_total', { cpu, mode: 'nice' }, t.guest_nice / hz)
  }
  emit('node_intr_total', {}, sample.intr)
  emit('node_context_switches_total', {}, sample.ctxt)
  emit('node_forks_total', {}, sample.processes)
  emit('node_boot_time_seconds', {}, sample.btime)
  emit('node_procs_running', {}, sample.procs_running)
  emit('node_procs_blocked', {}, sample.procs_blocked)
}

function memoryPoints(sample: MemorySample, emit: EmitPoint): void {
  for (const field of Object.keys(sample.fields)) {
    const value = sample.fields[field]
    if (value === undefined || !NODE_EXPORTER_MEMINFO_FIELDS.has(field)) continue
    emit(memoryMetricName(field), {}, value)
  }
}

function networkPoints(sample: NetworkSample, emit: EmitPoint): void {
  for (const iface of sample.interfaces) {
    for (const [key, field] of NETWORK_COUNTERS) {
      emit(`node_network_${key}_total`, { device: iface.device }, iface[field])
    }
  }
}

function diskPoints(sample: DiskSample, emit: EmitPoint): void {
  for (const d of sample.devices) {
    const device = d.device
    emit('node_disk_reads_completed_total', { device }, d.reads_completed)
    emit('node_disk_reads_merged_total', { device }, d.reads_merged)
    emit('node_disk_read_bytes_total', { device }, d.sectors_read * SECTOR_BYTES)
    emit('node_disk_read_time_seconds_total', { device }, d.read_time_ms * SECONDS_PER_MS)
    emit('node_disk_writes_completed_total', { device }, d.writes_completed)
    emit('node_disk_writes_merged_total', { device }, d.writes_merged)
    emit('node_disk_written_bytes_total', { device }, d.sectors_written * SECTOR_BYTES)
    emit('node_disk_write_time_seconds_total', { device }, d.write_time_ms * SECONDS_PER_MS)
    emit('node_disk_io_now', { device }, d.io_in_progress)
    emit('node_disk_io_time_seconds_total', { device }, d.io_time_ms * SECONDS_PER_MS)
    emit('node_disk_io_time_weighted_seconds_total', { device }, d.weighted_io_time_ms * SECONDS_PER_MS)
    // Absent on older kernels, where node_exporter emits nothing rather than zero.
    if (d.discards_completed !== null)
      emit('node_disk_discards_completed_total', { device }, d.discards_completed)
    if (d.discards_merged !== null) emit('node_disk_discards_merged_total', { device }, d.discards_merged)
    // Unlike reads and writes, node_exporter exports discards in sectors, not bytes.
    if (d.sectors_discarded !== null)
      emit('node_disk_discarded_sectors_total', { device }, d.sectors_discarded)
    if (d.discard_time_ms !== null) {
      emit('node_disk_discard_time_seconds_total', { device }, d.discard_time_ms * SECONDS_PER_MS)
    }
    if (d.flushes_completed !== null) emit('node_disk_flush_requests_total', { device }, d.flushes_completed)
    if (d.flush_time_ms !== null) {
      emit('node_disk_flush_requests_time_seconds_total', { device }, d.flush_time_ms * SECONDS_PER_MS)
    }
  }
}

/**
 * A collector's families as the agent built them: names, labels and units are node_exporter's
 * already, so this passes them through. Names and labels were checked by the admission rule.
 */
function metricsPoints(sample: MetricsSample, emit: EmitPoint): void {
  for (const family of sample.metrics) {
    for (const s of family.series) emit(family.name, { ...s.labels }, s.value)
  }
}

function loadPoints(sample: LoadSample, emit: EmitPoint): void {
  emit('node_load1', {}, sample.load1)
  emit('node_load5', {}, sample.load5)
  emit('node_load15', {}, sample.load15)
}

function psiSeconds(totalUs: number): number {
  return totalUs / US_PER_MS / MS_PER_S
}

function pressurePoints(sample: PressureSample, emit: EmitPoint): void {
  emit('node_pressure_cpu_waiting_seconds_total', {}, psiSeconds(sample.cpu.some.total_us))
  emit('node_pressure_io_waiting_seconds_total', {}, psiSeconds(sample.io.some.total_us))
  if (sample.io.full !== null) {
    emit('node_pressure_io_stalled_seconds_total', {}, psiSeconds(sample.io.full.total_us))
  }
  emit('node_pressure_memory_waiting_seconds_total', {}, psiSeconds(sample.memory.some.total_us))
  if (sample.memory.full !== null) {
    emit('node_pressure_memory_stalled_seconds_total', {}, psiSeconds(sample.memory.full.total_us))
  }
  if (sample.irq?.full)
    emit('node_pressure_irq_stalled_seconds_total', {}, psiSeconds(sample.irq.full.total_us))
}

/**
 * Every field the record carries: the agent already kept only the fields it was asked for
 * (node_exporter's default set unless --vmstat-fields says otherwise), so filtering again here would
 * silently undo an operator's choice.
 */
function vmstatPoints(sample: VmstatSample, emit: EmitPoint): void {
  for (const field of Object.keys(sample.fields)) {
    const value = sample.fields[field]
    const name = `${VMSTAT_PREFIX}${field}`
    if (value === undefined || !VALID_NAME.test(name)) continue
    emit(name, {}, value)
  }
}

function filesystemPoints(sample: FilesystemSample, emit: EmitPoint): void {
  for (const fs of sample.filesystems) {
    const labels = (): Record<string, string> => ({
      device: fs.device,
      fstype: fs.fstype,
      mountpoint: fs.mountpoint,
    })
    const s = fs.statfs
    emit('node_filesystem_device_error', labels(), s === null ? 1 : 0)
    // 1.5 emits nothing else for a filesystem statfs failed on; readonly moved before that return in 1.7.
    if (s === null) continue
    // float64(Blocks) * float64(Bsize), as node_exporter computes it.
    emit('node_filesystem_size_bytes', labels(), s.blocks * s.block_size)
    emit('node_filesystem_free_bytes', labels(), s.blocks_free * s.block_size)
    emit('node_filesystem_avail_bytes', labels(), s.blocks_avail * s.block_size)
    emit('node_filesystem_files', labels(), s.files)
    emit('node_filesystem_files_free', labels(), s.files_free)
    emit('node_filesystem_readonly', labels(), fs.readonly ? 1 : 0)
  }
}
