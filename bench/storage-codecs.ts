/**
 * What a stored value costs on disk, measured (not asserted) in embedded ClickHouse: a generated,
 * node_exporter-like slice of one host is written through the processor's own sink into a database
 * migrated with the real schema (metrics_raw plus the rollup tiers, fed by their views). Lab tables
 * then hold the same rows with one copy of `value` and of `ts` per candidate codec, so every codec is
 * measured on identical data in identical order (migration 1's codecs included), per series kind
 * (constant, counter, gauge) too, and the 10 s tier's columns likewise. Everything is merged
 * (OPTIMIZE FINAL) before sizes are read from system.parts_columns and system.parts. The first hour
 * is also written into a migration-1-only database, to time the insert with and without the views.
 *
 * `npx tsx bench/storage-codecs.ts [--hours N] [--json]` prints markdown tables (JSON with --json).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { ClickHouseClient } from '@clickhouse/client'
import { sampleTimestampUs } from '../agent/src/envelope.ts'
import { createClickHouse, readClickHouseConfig } from '#platform/clickhouse.ts'
import { ConfigReader } from '#platform/config.ts'
import {
  bootstrapStatements,
  migrations,
  LAST_KEY,
  RAW_TS_CODEC,
  RAW_VALUE_CODEC,
  RAW_INSERT_SETTINGS,
  ROLLUP_TIERS,
  type DdlOptions,
} from '#schemas/clickhouse/ddl.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'
import { microsToDateTime64 } from '../stream-processors/src/rows.ts'

/** A row of migration 1's wide `metrics_raw`, the layout this study measured its codecs on. */
type RawRow = [tenant: string, metric: string, host: string, labels: string, ts: string, value: number]
import { prng } from '#platform/prng.ts'

// ---------------------------------------------------------------------------------------------------
// The data: one host as node_exporter 1.5 describes it, sampled every second (filesystems every 10 s,
// the agent's default), with the agent's millisecond timestamps a few ms late on some ticks.

export type SeriesKind = 'counter' | 'gauge' | 'constant'

interface Series {
  metric: string
  labels: string
  /** Declared kind; a declared counter or gauge that never moved in the run is reported as constant. */
  kind: 'counter' | 'gauge'
  family: string
  everySeconds: number
  /** The value at the next sample, `dt` seconds after the previous one. */
  next: (dt: number) => number
}

function labelsOf(labels: Record<string, string>): string {
  const sorted: Record<string, string> = {}
  for (const k of Object.keys(labels).sort()) sorted[k] = labels[k] ?? ''
  return JSON.stringify(sorted)
}

function hostSeries(random: () => number): Series[] {
  const normal = (): number => {
    const u = 1 - random()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
  }
  /** A non-negative whole number of events with the given mean (normal approximation, or Bernoulli). */
  const events = (mean: number): number =>
    mean < 1 ? (random() < mean ? 1 : 0) : Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()))
  const out: Series[] = []
  const add = (
    family: string,
    metric: string,
    labels: Record<string, string>,
    kind: 'counter' | 'gauge',
    next: (dt: number) => number,
    everySeconds = 1,
  ): void => {
    out.push({ family, metric, labels: labelsOf(labels), kind, next, everySeconds })
  }
  /** A kernel counter in whole units, exposed scaled (ticks / 100, ms × 0.001, µs / 1e6, sectors × 512). */
  const counter = (start: number, perSecond: () => number, expose: (n: number) => number) => {
    let n = start
    return (dt: number): number => {
      for (let i = 0; i < dt; i++) n += perSecond()
      return expose(n)
    }
  }
  const constant = (v: number) => (): number => v

  // cpu: 8 CPUs, a busy fraction per CPU that wanders; /proc/stat ticks at USER_HZ 100.
  for (let cpu = 0; cpu < 8; cpu++) {
    let busy = 0.05 + random() * 0.25
    const mean = busy
    const share = { user: 0.62, system: 0.27, softirq: 0.05, irq: 0.02, nice: 0.01 }
    const ticks: Record<string, number> = {
      user: 4e6 * mean,
      nice: 2e4,
      system: 1.7e6 * mean,
      idle: 9e7,
      iowait: 3e4,
      irq: 0,
      softirq: 1.5e5 * mean,
      steal: 0,
    }
    let second = -1
    let perMode: Record<string, number> = {}
    const tick = (t: number): void => {
      if (t === second) return
      second = t
      busy = Math.min(0.98, Math.max(0.01, busy + 0.1 * (mean - busy) + 0.04 * normal()))
      perMode = {}
      let used = 0
      for (const [mode, s] of Object.entries(share)) {
        const n = Math.floor(busy * s * 100 + random())
        perMode[mode] = n
        used += n
      }
      perMode.iowait = events(0.3)
      perMode.steal = 0
      perMode.idle = Math.max(0, 100 - used - perMode.iowait)
    }
    let clock = 0
    for (const mode of Object.keys(ticks)) {
      let n = Math.round(ticks[mode] ?? 0)
      const first = mode === 'user'
      add('cpu', 'node_cpu_seconds_total', { cpu: String(cpu), mode }, 'counter', (dt) => {
        for (let i = 0; i < dt; i++) {
          if (first) clock++
          tick(clock)
          n += perMode[mode] ?? 0
        }
        return n / 100
      })
    }
    for (const mode of ['user', 'nice'])
      add('cpu', 'node_cpu_guest_seconds_total', { cpu: String(cpu), mode }, 'counter', constant(0))
  }
  add(
    'cpu',
    'node_intr_total',
    {},
    'counter',
    counter(
      2.1e9,
      () => events(15_000),
      (n) => n,
    ),
  )
  add(
    'cpu',
    'node_context_switches_total',
    {},
    'counter',
    counter(
      4.4e9,
      () => events(30_000),
      (n) => n,
    ),
  )
  add(
    'cpu',
    'node_forks_total',
    {},
    'counter',
    counter(
      3.1e6,
      () => events(8),
      (n) => n,
    ),
  )
  add('cpu', 'node_boot_time_seconds', {}, 'gauge', constant(1_793_001_234))
  add('cpu', 'node_procs_running', {}, 'gauge', () => 1 + events(1.5))
  add('cpu', 'node_procs_blocked', {}, 'gauge', () => events(0.05))

  // memory: /proc/meminfo kB × 1024; about half the lines never move on a quiet host.
  const KIB = 1024
  const memConstant: [string, number][] = [
    ['MemTotal', 32_803_580],
    ['SwapTotal', 2_097_148],
    ['SwapFree', 2_097_148],
    ['SwapCached', 0],
    ['Unevictable', 32_512],
    ['Mlocked', 27_648],
    ['NFS_Unstable', 0],
    ['Bounce', 0],
    ['WritebackTmp', 0],
    ['CommitLimit', 18_498_936],
    ['VmallocTotal', 34_359_738_367],
    ['VmallocChunk', 0],
    ['Percpu', 21_504],
    ['HardwareCorrupted', 0],
    ['ShmemHugePages', 0],
    ['ShmemPmdMapped', 0],
    ['FileHugePages', 0],
    ['FilePmdMapped', 0],
    ['HugePages_Total', 0],
    ['HugePages_Free', 0],
    ['HugePages_Rsvd', 0],
    ['HugePages_Surp', 0],
    ['Hugepagesize', 2048],
    ['Hugetlb', 0],
    ['DirectMap4k', 612_280],
    ['DirectMap2M', 17_129_472],
    ['DirectMap1G', 16_777_216],
  ]
  for (const [field, kb] of memConstant)
    add('memory', `node_memory_${field}_bytes`, {}, 'gauge', constant(kb * KIB))
  /** [field, start kB, step σ kB per second, floor kB] */
  const memWalk: [string, number, number, number][] = [
    ['MemFree', 9_800_000, 3000, 1_000_000],
    ['MemAvailable', 21_300_000, 2500, 2_000_000],
    ['Buffers', 612_000, 40, 100_000],
    ['Cached', 11_200_000, 600, 1_000_000],
    ['Active', 12_100_000, 900, 1_000_000],
    ['Inactive', 8_300_000, 500, 1_000_000],
    ['Active_anon', 6_900_000, 800, 500_000],
    ['Inactive_anon', 410_000, 60, 10_000],
    ['Active_file', 5_200_000, 300, 500_000],
    ['Inactive_file', 7_900_000, 400, 500_000],
    ['AnonPages', 7_200_000, 800, 500_000],
    ['Mapped', 1_050_000, 120, 100_000],
    ['Shmem', 380_000, 30, 10_000],
    ['KReclaimable', 640_000, 50, 100_000],
    ['Slab', 1_020_000, 60, 100_000],
    ['SReclaimable', 640_000, 50, 100_000],
    ['SUnreclaim', 380_000, 20, 100_000],
    ['KernelStack', 24_560, 16, 10_000],
    ['PageTables', 61_200, 12, 10_000],
    ['Committed_AS', 15_400_000, 1500, 1_000_000],
    ['VmallocUsed', 88_400, 8, 10_000],
    ['AnonHugePages', 1_880_256, 0, 0],
  ]
  for (const [field, start, sigma, floor] of memWalk) {
    let kb = start
    const hugeStep = 2048
    add('memory', `node_memory_${field}_bytes`, {}, 'gauge', (dt) => {
      for (let i = 0; i < dt; i++) {
        // Transparent huge pages move in 2 MiB steps, rarely; KernelStack in 16 kB stacks.
        if (field === 'AnonHugePages') kb += random() < 0.01 ? (random() < 0.5 ? -hugeStep : hugeStep) : 0
        else if (field === 'KernelStack') kb += random() < 0.1 ? 16 * Math.round(normal()) : 0
        else kb += Math.round(sigma * normal())
        kb = Math.max(floor, kb)
      }
      return kb * KIB
    })
  }
  add('memory', 'node_memory_Dirty_bytes', {}, 'gauge', () => Math.floor(random() * random() * 60_000) * KIB)
  add('memory', 'node_memory_Writeback_bytes', {}, 'gauge', () =>
    random() < 0.05 ? Math.floor(random() * 4000) * KIB : 0,
  )

  // network: 4 interfaces × 16 /proc/net/dev counters; errors, fifo, frame, compressed stay 0.
  const devices: [string, number, number][] = [
    ['lo', 20_000, 400],
    ['eth0', 220_000, 900],
    ['eth1', 6_000, 300],
    ['docker0', 800, 250],
  ]
  for (const [device, rate, packetSize] of devices) {
    for (const dir of ['receive', 'transmit']) {
      let bytes = Math.round(rate * 86_400 * (5 + random() * 10))
      let packets = Math.round(bytes / packetSize)
      const step = (): void => {
        const moved = Math.round(rate * Math.exp(normal() * 0.8 - 0.32))
        bytes += moved
        packets += Math.max(moved > 0 ? 1 : 0, Math.round(moved / packetSize))
      }
      add('network', `node_network_${dir}_bytes_total`, { device }, 'counter', (dt) => {
        for (let i = 0; i < dt; i++) step()
        return bytes
      })
      add('network', `node_network_${dir}_packets_total`, { device }, 'counter', () => packets)
      const drop = counter(
        device === 'eth0' ? 1_204 : 0,
        () => (device === 'eth0' ? events(0.01) : 0),
        (n) => n,
      )
      add('network', `node_network_${dir}_drop_total`, { device }, 'counter', drop)
      const quiet =
        dir === 'receive'
          ? ['errs', 'fifo', 'frame', 'compressed']
          : ['errs', 'fifo', 'colls', 'carrier', 'compressed']
      for (const c of quiet)
        add('network', `node_network_${dir}_${c}_total`, { device }, 'counter', constant(0))
      if (dir === 'receive') {
        const multicast = counter(
          52_000,
          () => (device === 'eth0' ? events(0.2) : 0),
          (n) => n,
        )
        add('network', 'node_network_receive_multicast_total', { device }, 'counter', multicast)
      }
    }
  }

  // disks: 2 devices × 17 /proc/diskstats metrics; times are ms counters × 0.001 like node_exporter.
  for (const [device, iops] of [
    ['nvme0n1', 40],
    ['sda', 2],
  ] as const) {
    const SECONDS_PER_MS = 1 / 1000
    const s = {
      reads: 8e6 * iops,
      readsMerged: 1e6 * iops,
      readSectors: 4e8 * iops,
      readMs: 3e6 * iops,
      writes: 1.2e7 * iops,
      writesMerged: 6e6 * iops,
      writeSectors: 9e8 * iops,
      writeMs: 9e6 * iops,
      ioMs: 6e6 * iops,
      weightedMs: 1.5e7 * iops,
      flushes: 9e5 * iops,
      flushMs: 4e5 * iops,
      ioNow: 0,
    }
    const step = (): void => {
      const r = events(iops * 0.3)
      const w = events(iops * 0.7)
      s.reads += r
      s.readsMerged += events(r * 0.1)
      s.readSectors += r * 8 * (1 + Math.floor(random() * 32))
      s.readMs += events(r * 0.2)
      s.writes += w
      s.writesMerged += events(w * 0.5)
      s.writeSectors += w * 8 * (1 + Math.floor(random() * 16))
      s.writeMs += events(w * 0.8)
      s.ioMs += Math.min(1000, events((r + w) * 0.4))
      s.weightedMs += events((r + w) * 1.1)
      const f = events(iops * 0.02)
      s.flushes += f
      s.flushMs += events(f * 2)
      s.ioNow = events(0.1 * iops * 0.05)
    }
    const l = { device }
    add('disk', 'node_disk_reads_completed_total', l, 'counter', (dt) => {
      for (let i = 0; i < dt; i++) step()
      return s.reads
    })
    add('disk', 'node_disk_reads_merged_total', l, 'counter', () => s.readsMerged)
    add('disk', 'node_disk_read_bytes_total', l, 'counter', () => s.readSectors * 512)
    add('disk', 'node_disk_read_time_seconds_total', l, 'counter', () => s.readMs * SECONDS_PER_MS)
    add('disk', 'node_disk_writes_completed_total', l, 'counter', () => s.writes)
    add('disk', 'node_disk_writes_merged_total', l, 'counter', () => s.writesMerged)
    add('disk', 'node_disk_written_bytes_total', l, 'counter', () => s.writeSectors * 512)
    add('disk', 'node_disk_write_time_seconds_total', l, 'counter', () => s.writeMs * SECONDS_PER_MS)
    add('disk', 'node_disk_io_now', l, 'gauge', () => s.ioNow)
    add('disk', 'node_disk_io_time_seconds_total', l, 'counter', () => s.ioMs * SECONDS_PER_MS)
    add('disk', 'node_disk_io_time_weighted_seconds_total', l, 'counter', () => s.weightedMs * SECONDS_PER_MS)
    // Discards happen at the weekly fstrim, not in a six-hour slice.
    add('disk', 'node_disk_discards_completed_total', l, 'counter', constant(4_112 * iops))
    add('disk', 'node_disk_discards_merged_total', l, 'counter', constant(12 * iops))
    add('disk', 'node_disk_discarded_sectors_total', l, 'counter', constant(9.1e7 * iops))
    add(
      'disk',
      'node_disk_discard_time_seconds_total',
      l,
      'counter',
      constant(51_233 * iops * SECONDS_PER_MS),
    )
    add('disk', 'node_disk_flush_requests_total', l, 'counter', () => s.flushes)
    add('disk', 'node_disk_flush_requests_time_seconds_total', l, 'counter', () => s.flushMs * SECONDS_PER_MS)
  }

  // filesystems: 4 mounts, statfs every 10 s; free space moves in 4 KiB blocks.
  for (const [mountpoint, device, fstype, sizeGiB, usedShare] of [
    ['/', '/dev/nvme0n1p2', 'ext4', 468, 0.41],
    ['/boot', '/dev/nvme0n1p1', 'vfat', 0.5, 0.12],
    ['/var/lib/docker', '/dev/sda1', 'xfs', 931, 0.63],
    ['/home', '/dev/nvme0n1p3', 'ext4', 1024, 0.22],
  ] as const) {
    const l = { device, fstype, mountpoint }
    const size = Math.round((sizeGiB * 2 ** 30) / 4096) * 4096
    const reserved = fstype === 'ext4' ? Math.round((size * 0.05) / 4096) * 4096 : 0
    let free = Math.round((size * (1 - usedShare)) / 4096) * 4096
    const files = Math.round(size / 16_384)
    let filesFree = Math.round(files * (1 - usedShare / 4))
    const busy = mountpoint === '/boot' ? 0 : 1
    add(
      'filesystem',
      'node_filesystem_size_bytes',
      l,
      'gauge',
      () => {
        free -= busy * 4096 * Math.round(200 * normal() + 20)
        filesFree -= busy * Math.round(3 * normal())
        return size
      },
      10,
    )
    add('filesystem', 'node_filesystem_free_bytes', l, 'gauge', () => free, 10)
    add('filesystem', 'node_filesystem_avail_bytes', l, 'gauge', () => free - reserved, 10)
    add('filesystem', 'node_filesystem_files', l, 'gauge', constant(files), 10)
    add('filesystem', 'node_filesystem_files_free', l, 'gauge', () => filesFree, 10)
    add('filesystem', 'node_filesystem_readonly', l, 'gauge', constant(0), 10)
    add('filesystem', 'node_filesystem_device_error', l, 'gauge', constant(0), 10)
  }

  // load: the kernel's exponentially damped averages, printed with two decimals.
  let load1 = 1.2
  let load5 = 1.1
  let load15 = 1.0
  let target = 1.2
  const round2 = (v: number): number => Math.round(v * 100) / 100
  add('load', 'node_load1', {}, 'gauge', (dt) => {
    for (let i = 0; i < dt; i++) {
      target = Math.max(0.1, target + 0.05 * normal())
      const runnable = Math.max(0, target + 0.8 * normal())
      load1 += (runnable - load1) * (1 - Math.exp(-1 / 60))
      load5 += (runnable - load5) * (1 - Math.exp(-1 / 300))
      load15 += (runnable - load15) * (1 - Math.exp(-1 / 900))
    }
    return round2(load1)
  })
  add('load', 'node_load5', {}, 'gauge', () => round2(load5))
  add('load', 'node_load15', {}, 'gauge', () => round2(load15))

  // pressure: /proc/pressure totals in µs, exposed in seconds.
  for (const [resource, kind, perSecondUs] of [
    ['cpu', 'waiting', 9000],
    ['io', 'waiting', 2500],
    ['io', 'stalled', 1800],
    ['memory', 'waiting', 3],
    ['memory', 'stalled', 2],
  ] as const) {
    const total = counter(
      perSecondUs * 1e6,
      () => (perSecondUs < 10 ? (random() < 0.01 ? events(400) : 0) : events(perSecondUs)),
      (us) => us / 1e6,
    )
    add('pressure', `node_pressure_${resource}_${kind}_seconds_total`, {}, 'counter', total)
  }

  // vmstat: node_exporter's default fields.
  add('vmstat', 'node_vmstat_oom_kill', {}, 'counter', constant(0))
  add(
    'vmstat',
    'node_vmstat_pgfault',
    {},
    'counter',
    counter(
      9.3e9,
      () => events(20_000),
      (n) => n,
    ),
  )
  add(
    'vmstat',
    'node_vmstat_pgmajfault',
    {},
    'counter',
    counter(
      1.9e6,
      () => events(0.3),
      (n) => n,
    ),
  )
  add(
    'vmstat',
    'node_vmstat_pgpgin',
    {},
    'counter',
    counter(
      4.1e8,
      () => events(180),
      (n) => n,
    ),
  )
  add(
    'vmstat',
    'node_vmstat_pgpgout',
    {},
    'counter',
    counter(
      1.3e9,
      () => events(900),
      (n) => n,
    ),
  )
  add('vmstat', 'node_vmstat_pswpin', {}, 'counter', constant(0))
  add('vmstat', 'node_vmstat_pswpout', {}, 'counter', constant(0))
  return out
}

export interface DatasetDescription {
  hosts: number
  series: number
  seriesByKind: Record<SeriesKind, number>
  hours: number
  rows: number
  from: string
  to: string
}

export interface Slice {
  description: DatasetDescription
  /** Series keys (metric + labels) by observed kind. */
  kinds: Record<SeriesKind, string[]>
}

/**
 * Rows in time order, `chunkSeconds` at a time, as the processor would insert them. Each family's
 * tick shares one timestamp: the timer wakes 0 ms late mostly, up to 3, and the agent stamps the tick
 * itself when within 2 ms of it (agent/src/envelope.ts), so only the 3 ms-late ticks keep the clock.
 */
export function* generateSlice(
  hours: number,
  startMs: number,
  chunkSeconds: number,
  out: Slice,
): Generator<RawRow[]> {
  const random = prng(20260105)
  const series = hostSeries(random)
  const first = new Map<Series, number>()
  const moved = new Set<Series>()
  const seconds = hours * 3600
  let rows = 0
  for (let c = 0; c < seconds; c += chunkSeconds) {
    const chunk: RawRow[] = []
    for (let t = c; t < Math.min(seconds, c + chunkSeconds); t++) {
      const lateness = new Map<string, number>()
      for (const s of series) {
        if (t % s.everySeconds !== 0) continue
        let late = lateness.get(s.family)
        if (late === undefined) {
          late = Math.floor(random() ** 4 * 4)
          lateness.set(s.family, late)
        }
        const value = s.next(t === 0 ? 1 : s.everySeconds)
        const seen = first.get(s)
        if (seen === undefined) first.set(s, value)
        else if (seen !== value) moved.add(s)
        // Stamped as the agent stamps: the tick when read within its tolerance of it, else the clock.
        const tickMs = startMs + t * 1000
        const ts = microsToDateTime64(sampleTimestampUs(tickMs + late, tickMs, s.everySeconds * 1000))
        chunk.push(['bench', s.metric, 'host-0001', s.labels, ts, value])
      }
    }
    rows += chunk.length
    yield chunk
  }
  out.kinds = { counter: [], gauge: [], constant: [] }
  for (const s of series) out.kinds[moved.has(s) ? s.kind : 'constant'].push(s.metric + s.labels)
  out.description = {
    hosts: 1,
    series: series.length,
    seriesByKind: {
      counter: out.kinds.counter.length,
      gauge: out.kinds.gauge.length,
      constant: out.kinds.constant.length,
    },
    hours,
    rows,
    from: new Date(startMs).toISOString(),
    to: new Date(startMs + seconds * 1000).toISOString(),
  }
}

// ---------------------------------------------------------------------------------------------------
// The measurement.

export interface StorageRow {
  section:
    | 'raw value codec'
    | 'raw ts codec'
    | 'raw value codec by series kind'
    | 'raw compression block size'
    | 'raw table'
    | 'rollup table'
    | 'rollup column codec'
  /** The column, table or series kind measured. */
  subject: string
  codec: string
  rows: number
  /** Compressed bytes ÷ rows; null when the codec does not apply to the column's type. */
  bytesPerRow: number | null
  /** Uncompressed ÷ compressed bytes. */
  ratio: number | null
  /** Whole tables only: bytes on disk (all columns, marks, primary index, checksums) ÷ rows. */
  diskBytesPerRow?: number
  note?: string
}

export interface StorageBench {
  dataset: DatasetDescription
  /**
   * Rows/s through the processor's sink (JSONCompactEachRow, chdb in this process) over the first
   * hour of data: into metrics_raw with the three rollup views, and into a migration-1-only copy.
   */
  insertRowsPerSecond: { withRollups: number; rawOnly: number }
  rows: StorageRow[]
}

const VALUE_CODECS = [
  'Gorilla, ZSTD(1)',
  'FPC, ZSTD(1)',
  'DoubleDelta, ZSTD(1)',
  'Delta, ZSTD(1)',
  'Delta, ZSTD(3)',
  'ZSTD(1)',
  'ZSTD(3)',
  'LZ4',
  'T64, ZSTD(1)',
]
const TS_CODECS = [
  'DoubleDelta, ZSTD(1)',
  'DoubleDelta',
  'Delta, ZSTD(1)',
  'Delta, ZSTD(3)',
  'Delta, ZSTD(6)',
  'ZSTD(1)',
  'T64, ZSTD(1)',
  'Delta, LZ4',
]
/** Timestamps as if the agent stamped the aligned tick instead of the moment it woke up. */
const ALIGNED_TS_CODECS = ['DoubleDelta, ZSTD(1)', 'Delta, ZSTD(1)']
/** The codecs of migration 1, for the before/after row. */
const M1 = { ts: 'DoubleDelta, ZSTD(1)', value: 'Gorilla, ZSTD(1)' }
const FLOAT_CODECS = ['Gorilla, ZSTD(1)', 'Delta, ZSTD(1)', 'ZSTD(1)', 'ZSTD(3)']
const BUCKET_CODECS = ['DoubleDelta, ZSTD(1)', 'Delta, ZSTD(1)', 'ZSTD(1)']
const COUNT_CODECS = ['T64, ZSTD(1)', 'Delta, ZSTD(1)', 'ZSTD(1)']
const STATE_CODECS = ['ZSTD(1)', 'ZSTD(3)', 'LZ4']
const KEY_COLUMNS = ['tenant', 'metric', 'host', 'labels']
/**
 * Small parts are written in the compact format, whose per-column sizes system.parts_columns does not
 * report; the lab tables force the wide format so each codec's column can be weighed.
 */
const WIDE = 'min_bytes_for_wide_part = 0, min_rows_for_wide_part = 0'
/** By default a compressed block closes at the first granule boundary past 64 KiB: one granule of 8-byte values. */
const BIG_BLOCKS = 'min_compress_block_size = 8388608, max_compress_block_size = 8388608'

interface ColumnSize {
  rows: number
  compressed: number
  uncompressed: number
}

async function query<T>(client: ClickHouseClient, sql: string): Promise<T[]> {
  const rs = await client.query({ query: sql, format: 'JSONEachRow' })
  return rs.json<T>()
}

async function columnSizes(
  client: ClickHouseClient,
  db: string,
  table: string,
): Promise<Map<string, ColumnSize>> {
  const rows = await query<{ column: string; rows: string; c: string; u: string }>(
    client,
    `SELECT column, sum(rows) AS rows, sum(column_data_compressed_bytes) AS c,
       sum(column_data_uncompressed_bytes) AS u
     FROM system.parts_columns WHERE database = '${db}' AND table = '${table}' AND active GROUP BY column`,
  )
  return new Map(
    rows.map((r) => [r.column, { rows: Number(r.rows), compressed: Number(r.c), uncompressed: Number(r.u) }]),
  )
}

async function tableSize(
  client: ClickHouseClient,
  db: string,
  table: string,
): Promise<ColumnSize & { disk: number; parts: number; compact: boolean }> {
  const [r] = await query<{
    rows: string
    c: string
    u: string
    disk: string
    parts: string
    compact: string
  }>(
    client,
    `SELECT sum(rows) AS rows, sum(data_compressed_bytes) AS c, sum(data_uncompressed_bytes) AS u,
       sum(bytes_on_disk) AS disk, count() AS parts, countIf(part_type = 'Compact') AS compact
     FROM system.parts WHERE database = '${db}' AND table = '${table}' AND active`,
  )
  return {
    rows: Number(r?.rows ?? 0),
    compressed: Number(r?.c ?? 0),
    uncompressed: Number(r?.u ?? 0),
    disk: Number(r?.disk ?? 0),
    parts: Number(r?.parts ?? 0),
    compact: Number(r?.compact ?? 0) > 0,
  }
}

function codecName(codec: string): string {
  return codec.replace(/[^A-Za-z0-9]+/g, '_').replace(/_+$/, '')
}

/** ClickHouse refuses some codecs for some types (T64 on floats); say so rather than fail. */
async function refusal(
  client: ClickHouseClient,
  db: string,
  type: string,
  codec: string,
): Promise<string | undefined> {
  const table = `${db}.probe_${codecName(codec)}`
  try {
    await client.command({
      query: `CREATE TABLE ${table} (c ${type} CODEC(${codec})) ENGINE = MergeTree ORDER BY tuple()`,
    })
    await client.command({ query: `DROP TABLE ${table}` })
    return undefined
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    return message.split('.')[0]?.replace(/^.*Exception: /, '')
  }
}

function sizeRow(
  section: StorageRow['section'],
  subject: string,
  codec: string,
  size: ColumnSize | undefined,
  note?: string,
): StorageRow {
  const base = { section, subject, codec, ...(note === undefined ? {} : { note }) }
  if (size === undefined || size.rows === 0) return { ...base, rows: 0, bytesPerRow: null, ratio: null }
  return {
    ...base,
    rows: size.rows,
    bytesPerRow: size.compressed / size.rows,
    ratio: size.uncompressed / size.compressed,
  }
}

function sum(sizes: Map<string, ColumnSize>, columns: readonly string[]): ColumnSize {
  const out = { rows: 0, compressed: 0, uncompressed: 0 }
  for (const name of columns) {
    const s = sizes.get(name)
    if (s === undefined) continue
    out.rows = s.rows
    out.compressed += s.compressed
    out.uncompressed += s.uncompressed
  }
  return out
}

/**
 * Measure. `client` lets a caller that already owns the process's chdb session (chdb binds one data
 * directory per process) pass it in; otherwise one is opened on a temporary folder and removed after.
 */
export async function benchStorageCodecs(
  options: { hours?: number; client?: ClickHouseClient } = {},
): Promise<StorageBench> {
  const hours = options.hours ?? 6
  const dir = options.client === undefined ? mkdtempSync(join(tmpdir(), 'procstream-storage-')) : undefined
  const client =
    options.client ?? (await createClickHouse(readClickHouseConfig(new ConfigReader({}), dir ?? tmpdir())))
  const db = `storage_bench_${process.pid}_${Date.now()}`
  const plainDb = `${db}_m1`
  const ddl: DdlOptions = {
    database: db,
    rawTtlDays: 7,
    tier10sTtlDays: 30,
    tier1mTtlDays: 365,
    tier1hTtlDays: 1825,
    dedupWindow: 1000,
  }
  const optimize = (table: string): Promise<unknown> =>
    client.command({ query: `OPTIMIZE TABLE ${table} FINAL` })
  try {
    // The wide layout of migrations 1–4, which this study's codec choices were made on; the
    // series-id layout (migration 5) keeps the same codecs for ts and value.
    await migrate(client, ddl, { upTo: 4 })
    // The schema before migration 2, for the insert cost of the rollup views.
    for (const q of bootstrapStatements(plainDb)) await client.command({ query: q })
    for (const q of migrations({ ...ddl, database: plainDb })[0]?.statements ?? [])
      await client.command({ query: q })

    // Yesterday from midnight: one daily partition, well inside every TTL.
    const startMs = (Math.floor(Date.now() / 86_400_000) - 1) * 86_400_000
    const slice = {} as Slice
    // As the processors inserted before the series-id layout: JSON rows into metrics_raw, views on.
    const legacyInsert = (database: string, raw: RawRow[], token: string): Promise<unknown> =>
      client.insert({
        table: `${database}.metrics_raw`,
        values: raw,
        format: 'JSONCompactEachRow',
        clickhouse_settings: {
          ...RAW_INSERT_SETTINGS,
          insert_deduplication_token: token,
          insert_deduplicate: 1,
        },
      })
    const chunkSeconds = 300
    let withRollupsMs = 0
    let rawOnlyMs = 0
    let timedRows = 0
    let chunkNo = 0
    for (const chunk of generateSlice(hours, startMs, chunkSeconds, slice)) {
      const token = `bench/${chunkNo}`
      const timed = chunkNo++ * chunkSeconds < 3600
      let t0 = performance.now()
      await legacyInsert(db, chunk, token)
      if (!timed) continue
      withRollupsMs += performance.now() - t0
      t0 = performance.now()
      await legacyInsert(plainDb, chunk, token)
      rawOnlyMs += performance.now() - t0
      timedRows += chunk.length
    }
    await client.command({ query: `DROP DATABASE ${plainDb}` })
    const { description } = slice
    await optimize(`${db}.metrics_raw`)
    for (const tier of ROLLUP_TIERS) await optimize(`${db}.${tier.table}`)

    const rows: StorageRow[] = []
    const refused = new Map<string, string>()
    for (const c of VALUE_CODECS) {
      const why = await refusal(client, db, 'Float64', c)
      if (why !== undefined) refused.set(`value ${c}`, why)
    }
    for (const c of TS_CODECS) {
      const why = await refusal(client, db, "DateTime64(6, 'UTC')", c)
      if (why !== undefined) refused.set(`ts ${c}`, why)
    }
    const valueCodecs = VALUE_CODECS.filter((c) => !refused.has(`value ${c}`))
    const tsCodecs = TS_CODECS.filter((c) => !refused.has(`ts ${c}`))

    /**
     * The rows of metrics_raw again, in the same order, with one copy of a column per codec:
     * `copies` maps a copy's name to its type, codec and the expression that fills it.
     */
    const lab = async (
      table: string,
      where: string,
      copies: { name: string; type: string; codec: string; expr: string }[],
      settings = WIDE,
    ): Promise<Map<string, ColumnSize>> => {
      await client.command({
        query: `CREATE TABLE ${db}.${table} (
  tenant LowCardinality(String), metric LowCardinality(String), host LowCardinality(String),
  labels LowCardinality(String), ts DateTime64(6, 'UTC') CODEC(${M1.ts}),
  ${copies.map((c) => `${c.name} ${c.type} CODEC(${c.codec})`).join(',\n  ')}
) ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) ORDER BY (tenant, metric, host, labels, ts)
SETTINGS ${settings}`,
      })
      await client.command({
        query: `INSERT INTO ${db}.${table} SELECT tenant, metric, host, labels, ts, ${copies.map((c) => c.expr).join(', ')}
FROM ${db}.metrics_raw WHERE ${where}`,
      })
      await optimize(`${db}.${table}`)
      const sizes = await columnSizes(client, db, table)
      await client.command({ query: `DROP TABLE ${db}.${table}` })
      return sizes
    }
    const valueCopies = (codecs: string[]) =>
      codecs.map((c) => ({ name: `value_${codecName(c)}`, type: 'Float64', codec: c, expr: 'value' }))
    const tsCopies = (codecs: string[], prefix = 'ts', expr = 'ts') =>
      codecs.map((c) => ({ name: `${prefix}_${codecName(c)}`, type: "DateTime64(6, 'UTC')", codec: c, expr }))
    const aligned = "toDateTime64(toStartOfSecond(ts), 6, 'UTC')"

    const all = await lab('lab_all', '1', [
      ...valueCopies(valueCodecs),
      ...tsCopies(tsCodecs),
      ...tsCopies(ALIGNED_TS_CODECS, 'ts_aligned', aligned),
    ])
    for (const c of VALUE_CODECS)
      rows.push(
        sizeRow('raw value codec', 'value', c, all.get(`value_${codecName(c)}`), refused.get(`value ${c}`)),
      )
    for (const c of TS_CODECS)
      rows.push(sizeRow('raw ts codec', 'ts', c, all.get(`ts_${codecName(c)}`), refused.get(`ts ${c}`)))
    for (const c of ALIGNED_TS_CODECS)
      rows.push(
        sizeRow(
          'raw ts codec',
          'ts, aligned to the tick',
          c,
          all.get(`ts_aligned_${codecName(c)}`),
          'if the agent stamped the scheduled tick instead of Date.now()',
        ),
      )
    for (const kind of ['counter', 'gauge', 'constant'] as const) {
      const keys = slice.kinds[kind].map((k) => `'${k.replace(/'/g, "\\'")}'`).join(', ')
      const sizes = await lab(`lab_${kind}`, `concat(metric, labels) IN (${keys})`, valueCopies(valueCodecs))
      for (const c of valueCodecs)
        rows.push(sizeRow('raw value codec by series kind', kind, c, sizes.get(`value_${codecName(c)}`)))
    }
    const big = await lab(
      'lab_big_blocks',
      '1',
      [...valueCopies([RAW_VALUE_CODEC]), ...tsCopies([RAW_TS_CODEC, M1.ts])],
      `${WIDE}, ${BIG_BLOCKS}`,
    )
    const bigNote =
      'one host: its series of a family share timestamps and sit side by side; in a fleet they do not'
    rows.push(
      sizeRow(
        'raw compression block size',
        'value',
        RAW_VALUE_CODEC,
        big.get(`value_${codecName(RAW_VALUE_CODEC)}`),
      ),
    )
    for (const c of [RAW_TS_CODEC, M1.ts])
      rows.push(sizeRow('raw compression block size', 'ts', c, big.get(`ts_${codecName(c)}`), bigNote))

    // Whole rows: migration 1's codecs (from the lab copies), and the real table after migration 2.
    const m1 = sum(all, [...KEY_COLUMNS, `ts_${codecName(M1.ts)}`, `value_${codecName(M1.value)}`])
    rows.push(
      sizeRow(
        'raw table',
        'metrics_raw, migration 1 codecs (lab copy)',
        `ts ${M1.ts}; value ${M1.value}`,
        m1,
      ),
    )
    const codecOf = async (column: string): Promise<string> => {
      const [r] = await query<{ c: string }>(
        client,
        `SELECT compression_codec AS c FROM system.columns
         WHERE database = '${db}' AND table = 'metrics_raw' AND name = '${column}'`,
      )
      return (r?.c ?? '').replace(/^CODEC\((.*)\)$/, '$1')
    }
    const rawSizes = await columnSizes(client, db, 'metrics_raw')
    const raw = await tableSize(client, db, 'metrics_raw')
    const perRaw = (c: string): string => ((rawSizes.get(c)?.compressed ?? 0) / raw.rows).toFixed(3)
    rows.push({
      ...sizeRow(
        'raw table',
        'metrics_raw after migration 2',
        `ts ${await codecOf('ts')}; value ${await codecOf('value')}`,
        raw,
      ),
      diskBytesPerRow: raw.disk / raw.rows,
      note: `key columns ${(sum(rawSizes, KEY_COLUMNS).compressed / raw.rows).toFixed(3)} B, ts ${perRaw('ts')} B, value ${perRaw('value')} B per row; ${raw.parts} part(s)`,
    })

    for (const tier of ROLLUP_TIERS) {
      const sizes = await columnSizes(client, db, tier.table)
      const size = await tableSize(client, db, tier.table)
      const per = (c: string): string => ((sizes.get(c)?.compressed ?? 0) / size.rows).toFixed(2)
      rows.push({
        ...sizeRow('rollup table', tier.table, 'migration 2', size),
        diskBytesPerRow: size.disk / size.rows,
        note:
          `${(description.rows / size.rows).toFixed(1)} raw values per row, ${(size.disk / description.rows).toFixed(3)} B on disk per raw value; ` +
          (size.compact
            ? `${size.parts} compact part(s), which do not report per-column sizes (see the metrics_10s lab)`
            : `keys ${(sum(sizes, KEY_COLUMNS).compressed / size.rows).toFixed(2)}, bucket ${per('bucket')}, min ${per('value_min')}, max ${per('value_max')}, sum ${per('value_sum')}, count ${per('value_count')}, last ${per('value_last')} B`),
      })
    }

    // The 10 s tier's columns under other codecs, built by the same GROUP BY its view runs.
    const tier = ROLLUP_TIERS[0]
    if (tier !== undefined) {
      const copies = [
        ...BUCKET_CODECS.map((c) => [`bucket_${codecName(c)}`, "DateTime('UTC')", c, 'bucket']),
        ...FLOAT_CODECS.flatMap((c) =>
          ['min', 'max', 'sum'].map((f) => [`value_${f}_${codecName(c)}`, 'Float64', c, `${f}(value)`]),
        ),
        ...COUNT_CODECS.map((c) => [`value_count_${codecName(c)}`, 'UInt64', c, 'count()']),
        ...STATE_CODECS.map((c) => [
          `value_last_${codecName(c)}`,
          'AggregateFunction(argMax, Float64, UInt32)',
          c,
          `argMaxState(value, ${LAST_KEY})`,
        ]),
        ...STATE_CODECS.map((c) => [
          `value_last_ts_${codecName(c)}`,
          "AggregateFunction(argMax, Float64, DateTime64(6, 'UTC'))",
          c,
          'argMaxState(value, ts)',
        ]),
        [
          'value_last_tuple',
          "Tuple(DateTime64(6, 'UTC'), Float64)",
          'DoubleDelta, ZSTD(1)',
          'max((ts, value))',
        ],
      ]
      await client.command({
        query: `CREATE TABLE ${db}.lab_tier (tenant LowCardinality(String), metric LowCardinality(String),
  host LowCardinality(String), labels LowCardinality(String), bucket DateTime('UTC'),
  ${copies.map(([name, type, codec]) => `${name} ${type} CODEC(${codec})`).join(', ')})
ENGINE = MergeTree ORDER BY (tenant, metric, host, labels, bucket) SETTINGS ${WIDE}`,
      })
      await client.command({
        query: `INSERT INTO ${db}.lab_tier SELECT tenant, metric, host, labels, ${tier.bucketOf} AS bucket,
  ${copies.map(([, , , expr]) => expr).join(', ')}
FROM ${db}.metrics_raw GROUP BY tenant, metric, host, labels, bucket`,
      })
      await optimize(`${db}.lab_tier`)
      const sizes = await columnSizes(client, db, 'lab_tier')
      const add = (subject: string, codec: string, columns: string[], note?: string): void => {
        rows.push(sizeRow('rollup column codec', subject, codec, sum(sizes, columns), note))
      }
      for (const c of BUCKET_CODECS) add('bucket', c, [`bucket_${codecName(c)}`])
      for (const c of FLOAT_CODECS)
        add(
          'min + max + sum',
          c,
          ['min', 'max', 'sum'].map((f) => `value_${f}_${codecName(c)}`),
        )
      for (const c of COUNT_CODECS) add('count', c, [`value_count_${codecName(c)}`])
      for (const c of STATE_CODECS)
        add('last: argMax(value, µs from bucket start)', c, [`value_last_${codecName(c)}`])
      for (const c of STATE_CODECS) add('last: argMax(value, ts)', c, [`value_last_ts_${codecName(c)}`])
      add(
        'last: max of (ts, value) tuple',
        'DoubleDelta, ZSTD(1)',
        ['value_last_tuple'],
        'rejected: FINAL skips the merge when a subcolumn is read',
      )
    }
    return {
      dataset: description,
      insertRowsPerSecond: {
        withRollups: timedRows / (withRollupsMs / 1000),
        rawOnly: timedRows / (rawOnlyMs / 1000),
      },
      rows,
    }
  } finally {
    await client.command({ query: `DROP DATABASE IF EXISTS ${db}` }).catch(() => undefined)
    await client.command({ query: `DROP DATABASE IF EXISTS ${plainDb}` }).catch(() => undefined)
    if (options.client === undefined) await client.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------------
// Printing.

function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined ? 'n/a' : v.toFixed(digits)
}

export function storageCodecsMarkdown(result: StorageBench): string {
  const d = result.dataset
  const lines: string[] = []
  const out = (s = ''): void => {
    lines.push(s)
  }
  out(
    `Data: ${d.hosts} host, ${d.series} node_exporter series (${d.seriesByKind.counter} counters that moved, ${d.seriesByKind.gauge} gauges that moved, ${d.seriesByKind.constant} constant), 1 s sampling (filesystems 10 s), ${d.hours} h from ${d.from}: ${d.rows.toLocaleString('en-US')} raw values.`,
  )
  out(
    `Insert through the processor's sink (JSONCompactEachRow, chdb in-process, first hour of the data): ${Math.round(result.insertRowsPerSecond.withRollups).toLocaleString('en-US')} rows/s into metrics_raw with the three rollup views, ${Math.round(result.insertRowsPerSecond.rawOnly).toLocaleString('en-US')} rows/s without them.`,
  )
  const table = (section: StorageRow['section'], title: string, withDisk = false): void => {
    const rows = result.rows.filter((r) => r.section === section)
    if (rows.length === 0) return
    out()
    out(`**${title}**`)
    out()
    out(`| subject | codec | rows | bytes/row | ratio |${withDisk ? ' on disk bytes/row |' : ''} note |`)
    out(`| --- | --- | ---: | ---: | ---: |${withDisk ? ' ---: |' : ''} --- |`)
    for (const r of rows) {
      out(
        `| ${r.subject} | ${r.codec} | ${r.rows.toLocaleString('en-US')} | ${fmt(r.bytesPerRow)} | ${fmt(r.ratio, 1)} |${withDisk ? ` ${fmt(r.diskBytesPerRow)} |` : ''} ${r.note ?? ''} |`,
      )
    }
  }
  table('raw value codec', 'metrics_raw.value: compressed bytes per value, by codec')
  table('raw ts codec', 'metrics_raw.ts: compressed bytes per value, by codec')
  table('raw value codec by series kind', 'metrics_raw.value by series kind')
  table(
    'raw compression block size',
    'metrics_raw columns with 8 MiB compressed blocks instead of one granule',
  )
  table('raw table', 'metrics_raw, whole rows (all columns) and on disk', true)
  table('rollup table', 'rollup tiers: bytes per stored bucket row', true)
  table('rollup column codec', 'metrics_10s columns by codec (bytes per bucket row)')
  return lines.join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { hours: { type: 'string' }, json: { type: 'boolean' } } })
  const hours = Number(values.hours ?? 6)
  if (!Number.isInteger(hours) || hours < 1 || hours > 24) {
    process.stderr.write(`--hours must be a whole number from 1 to 24, got ${values.hours ?? ''}\n`)
    process.exit(2)
  }
  const result = await benchStorageCodecs({ hours })
  process.stdout.write(
    values.json ? `${JSON.stringify(result, null, 2)}\n` : `${storageCodecsMarkdown(result)}\n`,
  )
}
