/**
 * The family records as plain objects, field for field the Avro records in schemas/avro/*.avsc
 * (Avro `int`/`long` → number, `["null","long"]` → number | null, `map<long>` → Record).
 * Units are the kernel's own, as each .avsc documents; conversion to node_exporter's units happens
 * in node-exporter.ts, never here.
 */

/** One line of /proc/stat's cpu block, in USER_HZ ticks. */
export interface CpuTimes {
  /** CPU number, or -1 for the aggregate `cpu` line. */
  cpu: number
  user: number
  nice: number
  system: number
  idle: number
  iowait: number
  irq: number
  softirq: number
  steal: number
  guest: number
  guest_nice: number
}

/** procstream.v1.CpuSample (cpu.avsc): /proc/stat. */
export interface CpuSample {
  /** Ticks per second of the cpu counters. */
  user_hz: number
  cpus: CpuTimes[]
  intr: number
  ctxt: number
  btime: number
  processes: number
  procs_running: number
  procs_blocked: number
}

/** procstream.v1.MemorySample (memory.avsc): /proc/meminfo, kernel field names, kB lines in bytes. */
export interface MemorySample {
  fields: Record<string, number>
}

/** One interface of /proc/net/dev. */
export interface NetDevCounters {
  device: string
  rx_bytes: number
  rx_packets: number
  rx_errs: number
  rx_drop: number
  rx_fifo: number
  rx_frame: number
  rx_compressed: number
  rx_multicast: number
  tx_bytes: number
  tx_packets: number
  tx_errs: number
  tx_drop: number
  tx_fifo: number
  tx_colls: number
  tx_carrier: number
  tx_compressed: number
}

/** procstream.v1.NetworkSample (network.avsc). */
export interface NetworkSample {
  interfaces: NetDevCounters[]
}

/** One device of /proc/diskstats: 512-byte sectors and milliseconds, as the kernel counts them. */
export interface DiskCounters {
  device: string
  major: number
  minor: number
  reads_completed: number
  reads_merged: number
  sectors_read: number
  read_time_ms: number
  writes_completed: number
  writes_merged: number
  sectors_written: number
  write_time_ms: number
  io_in_progress: number
  io_time_ms: number
  weighted_io_time_ms: number
  /** null before kernel 4.18 (the 14-field layout). */
  discards_completed: number | null
  discards_merged: number | null
  sectors_discarded: number | null
  discard_time_ms: number | null
  /** null before kernel 5.5 (14- and 18-field layouts). */
  flushes_completed: number | null
  flush_time_ms: number | null
}

/** procstream.v1.DiskSample (disk.avsc). */
export interface DiskSample {
  devices: DiskCounters[]
}

/** procstream.v1.LoadSample (load.avsc): /proc/loadavg. */
export interface LoadSample {
  load1: number
  load5: number
  load15: number
  threads_running: number
  threads_total: number
  last_pid: number
}

/** One line of a /proc/pressure file: averages in percent, total in microseconds. */
export interface PsiLine {
  avg10: number
  avg60: number
  avg300: number
  total_us: number
}

/** One /proc/pressure file. */
export interface PsiResource {
  some: PsiLine
  /** null where the kernel prints no `full` line (cpu before Linux 5.13). */
  full: PsiLine | null
}

/** procstream.v1.PressureSample (pressure.avsc): /proc/pressure/{cpu,memory,io,irq}. */
export interface PressureSample {
  cpu: PsiResource
  memory: PsiResource
  io: PsiResource
  /** null where the kernel has no /proc/pressure/irq (before 6.1) and from agents that predate it. */
  irq: PsiResource | null
}

/** procstream.v1.VmstatSample (vmstat.avsc): /proc/vmstat, kernel field names and values. */
export interface VmstatSample {
  fields: Record<string, number>
}

/** statfs(2) of one filesystem, in blocks of block_size bytes and inodes. */
export interface StatfsCounters {
  block_size: number
  blocks: number
  blocks_free: number
  blocks_avail: number
  files: number
  files_free: number
}

/** One mounted filesystem. */
export interface FilesystemStats {
  device: string
  mountpoint: string
  fstype: string
  /** Mounted with the `ro` option. */
  readonly: boolean
  /** Why statfs failed, or null. */
  error: string | null
  /** null when statfs failed. */
  statfs: StatfsCounters | null
}

/** procstream.v1.FilesystemSample (filesystem.avsc). */
export interface FilesystemSample {
  filesystems: FilesystemStats[]
}

/** procstream.v1.AgentSample (agent.avsc): the agent's own counters (since start) and gauges. */
export interface AgentSample {
  start_time_us: number
  samples: number
  collect_seconds: number
  ticks_late: number
  ticks_missed: number
  parse_errors: Record<string, number>
  read_errors: Record<string, number>
  records_sent: number
  messages_sent: number
  bytes_sent: number
  send_errors: number
  queued_records: number
  queued_bytes: number
  spool_records: number
  spool_bytes: number
  dropped_records: number
  cpu_seconds: number
  resident_memory_bytes: number
}

/** procstream.v1.MetricKind: the TYPE node_exporter declares. */
export type MetricKind = 'GAUGE' | 'COUNTER' | 'UNTYPED'

/** One series of a metric family: its labels (names valid in Prometheus, none starting with __) and value. */
export interface SeriesValue {
  labels: Record<string, string>
  value: number
}

/** procstream.v1.MetricFamily: one metric name and its series. */
export interface MetricFamilyRecord {
  name: string
  type: MetricKind
  series: SeriesValue[]
}

/**
 * procstream.v1.MetricsSample (metrics.avsc): one collection of one node_exporter collector, already
 * in node_exporter's names and units. Every collector added after the typed families travels in it,
 * so adding one changes no schema, processor, storage or query code.
 */
export interface MetricsSample {
  collector: string
  metrics: MetricFamilyRecord[]
}
