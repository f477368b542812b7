import { describe, expect, it } from 'vitest'
import type { Family, FamilyRecords } from './families.ts'
import {
  DEFAULT_VMSTAT_FIELDS,
  memoryMetricName,
  metricInfo,
  samplePoints,
  STATIC_METRICS,
  toMetricPoints,
  type MetricPoint,
} from './node-exporter.ts'
import type {
  CpuSample,
  DiskCounters,
  DiskSample,
  FilesystemSample,
  LoadSample,
  MemorySample,
  NetworkSample,
  PressureSample,
  VmstatSample,
} from './records.ts'

// Records hold values read by eye from the agent's /proc fixtures (agent/src/collectors/__fixtures__):
// live-t0 is a 2-core Linux 6.18 VM, procfs the prometheus/procfs test data.

function points<F extends Family>(family: F, sample: FamilyRecords[F]): MetricPoint[] {
  const out: MetricPoint[] = []
  toMetricPoints(family, sample, (name, labels, value) => out.push({ name, labels, value }))
  return out
}

function value(
  all: readonly MetricPoint[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return all.find((p) => p.name === name && JSON.stringify(p.labels) === JSON.stringify(labels))?.value
}

const liveCpu: CpuSample = {
  user_hz: 100,
  cpus: [
    {
      cpu: -1,
      user: 4193,
      nice: 0,
      system: 2667,
      idle: 49905,
      iowait: 143,
      irq: 0,
      softirq: 31,
      steal: 80,
      guest: 0,
      guest_nice: 0,
    },
    {
      cpu: 0,
      user: 1896,
      nice: 0,
      system: 1035,
      idle: 25501,
      iowait: 18,
      irq: 0,
      softirq: 9,
      steal: 40,
      guest: 0,
      guest_nice: 0,
    },
    {
      cpu: 1,
      user: 2296,
      nice: 0,
      system: 1632,
      idle: 24404,
      iowait: 124,
      irq: 0,
      softirq: 22,
      steal: 40,
      guest: 7,
      guest_nice: 3,
    },
  ],
  intr: 222287,
  ctxt: 507918,
  btime: 1795353462,
  processes: 4842,
  procs_running: 1,
  procs_blocked: 0,
}

/** live-t0's vda: the 20-field layout. */
const vda: DiskCounters = {
  device: 'vda',
  major: 254,
  minor: 0,
  reads_completed: 8250,
  reads_merged: 4904,
  sectors_read: 1093618,
  read_time_ms: 5126,
  writes_completed: 1982,
  writes_merged: 9681,
  sectors_written: 2434896,
  write_time_ms: 12411,
  io_in_progress: 0,
  io_time_ms: 3684,
  weighted_io_time_ms: 17793,
  discards_completed: 3197,
  discards_merged: 30,
  sectors_discarded: 58136,
  discard_time_ms: 251,
  flushes_completed: 61,
  flush_time_ms: 3,
}

/** procfs' sda: the 14-field layout of kernels before 4.18. */
const sda: DiskCounters = {
  device: 'sda',
  major: 8,
  minor: 0,
  reads_completed: 25354637,
  reads_merged: 34367663,
  sectors_read: 1003346126,
  read_time_ms: 18492372,
  writes_completed: 28444756,
  writes_merged: 11134226,
  sectors_written: 505697032,
  write_time_ms: 63877960,
  io_in_progress: 0,
  io_time_ms: 9653880,
  weighted_io_time_ms: 82621804,
  discards_completed: null,
  discards_merged: null,
  sectors_discarded: null,
  discard_time_ms: null,
  flushes_completed: null,
  flush_time_ms: null,
}

describe('cpu → node_cpu_seconds_total and the stat collector’s series', () => {
  const all = points('cpu', liveCpu)

  it('converts ticks to seconds per CPU and mode', () => {
    expect(value(all, 'node_cpu_seconds_total', { cpu: '0', mode: 'user' })).toBe(18.96)
    expect(value(all, 'node_cpu_seconds_total', { cpu: '0', mode: 'idle' })).toBe(255.01)
    expect(value(all, 'node_cpu_seconds_total', { cpu: '1', mode: 'iowait' })).toBe(1.24)
    expect(value(all, 'node_cpu_seconds_total', { cpu: '1', mode: 'steal' })).toBe(0.4)
    const modes = all
      .filter((p) => p.name === 'node_cpu_seconds_total' && p.labels.cpu === '0')
      .map((p) => p.labels.mode)
    expect(modes).toEqual(['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'])
  })

  it('puts guest time in node_cpu_guest_seconds_total with modes user and nice', () => {
    expect(value(all, 'node_cpu_guest_seconds_total', { cpu: '1', mode: 'user' })).toBe(0.07)
    expect(value(all, 'node_cpu_guest_seconds_total', { cpu: '1', mode: 'nice' })).toBe(0.03)
    expect(all.some((p) => p.name === 'node_cpu_seconds_total' && p.labels.mode?.startsWith('guest'))).toBe(
      false,
    )
  })

  it('leaves out the aggregate line, as node_exporter does', () => {
    expect(all.filter((p) => p.labels.cpu !== undefined).map((p) => p.labels.cpu)).not.toContain('-1')
    expect(all).toHaveLength(2 * 10 + 6)
  })

  it('divides by the record’s user_hz', () => {
    expect(
      value(points('cpu', { ...liveCpu, user_hz: 1000 }), 'node_cpu_seconds_total', {
        cpu: '0',
        mode: 'user',
      }),
    ).toBe(1.896)
  })

  it('emits the /proc/stat scalars under node_exporter’s names', () => {
    expect(value(all, 'node_intr_total')).toBe(222287)
    expect(value(all, 'node_context_switches_total')).toBe(507918)
    expect(value(all, 'node_forks_total')).toBe(4842)
    expect(value(all, 'node_boot_time_seconds')).toBe(1795353462)
    expect(value(all, 'node_procs_running')).toBe(1)
    expect(value(all, 'node_procs_blocked')).toBe(0)
  })
})

describe('memory → node_memory_*', () => {
  const memory: MemorySample = {
    fields: {
      MemTotal: 24684096 * 1024,
      'Active(anon)': 1528 * 1024,
      'Inactive(file)': 147652 * 1024,
      NFS_Unstable: 0,
      HugePages_Total: 0,
      HugePages_Free: 0,
      Hugepagesize: 2048 * 1024,
    },
  }

  it('names fields like node_exporter: parentheses to underscore, _bytes except for unit-less HugePages_*', () => {
    expect(memoryMetricName('MemTotal')).toBe('node_memory_MemTotal_bytes')
    expect(memoryMetricName('Active(anon)')).toBe('node_memory_Active_anon_bytes')
    expect(memoryMetricName('HugePages_Total')).toBe('node_memory_HugePages_Total')
    expect(memoryMetricName('Hugepagesize')).toBe('node_memory_Hugepagesize_bytes')
  })

  it('emits every field with its value in bytes', () => {
    const all = points('memory', memory)
    expect(value(all, 'node_memory_MemTotal_bytes')).toBe(25276514304)
    expect(value(all, 'node_memory_Active_anon_bytes')).toBe(1564672)
    expect(value(all, 'node_memory_Inactive_file_bytes')).toBe(147652 * 1024)
    expect(value(all, 'node_memory_NFS_Unstable_bytes')).toBe(0)
    expect(value(all, 'node_memory_HugePages_Free')).toBe(0)
    expect(value(all, 'node_memory_Hugepagesize_bytes')).toBe(2097152)
    expect(all).toHaveLength(7)
  })

  it('emits only the fields node_exporter 1.12 exports, whatever else the kernel (or the wire) has', () => {
    const fields = { MemTotal: 1, KReclaimable: 2, SecPageTables: 3, Zswapped: 4, 'Bad Name': 5, Good: 6 }
    expect(points('memory', { fields }).map((p) => p.name)).toEqual([
      'node_memory_MemTotal_bytes',
      'node_memory_Zswapped_bytes',
    ])
  })
})

describe('network → node_network_*_total', () => {
  const eth0 = {
    device: 'eth0',
    rx_bytes: 874354587,
    rx_packets: 1036395,
    rx_errs: 1,
    rx_drop: 2,
    rx_fifo: 3,
    rx_frame: 4,
    rx_compressed: 5,
    rx_multicast: 6,
    tx_bytes: 563352563,
    tx_packets: 732147,
    tx_errs: 7,
    tx_drop: 8,
    tx_fifo: 9,
    tx_colls: 10,
    tx_carrier: 11,
    tx_compressed: 12,
  }
  const network: NetworkSample = { interfaces: [eth0, { ...eth0, device: 'lo' }] }

  it('emits all 16 counters per device under the /proc/net/dev names', () => {
    const all = points('network', network)
    expect(all.filter((p) => p.labels.device === 'eth0').map((p) => [p.name, p.value])).toEqual([
      ['node_network_receive_bytes_total', 874354587],
      ['node_network_receive_packets_total', 1036395],
      ['node_network_receive_errs_total', 1],
      ['node_network_receive_drop_total', 2],
      ['node_network_receive_fifo_total', 3],
      ['node_network_receive_frame_total', 4],
      ['node_network_receive_compressed_total', 5],
      ['node_network_receive_multicast_total', 6],
      ['node_network_transmit_bytes_total', 563352563],
      ['node_network_transmit_packets_total', 732147],
      ['node_network_transmit_errs_total', 7],
      ['node_network_transmit_drop_total', 8],
      ['node_network_transmit_fifo_total', 9],
      ['node_network_transmit_colls_total', 10],
      ['node_network_transmit_carrier_total', 11],
      ['node_network_transmit_compressed_total', 12],
    ])
    expect(all).toHaveLength(32)
  })
})

describe('disk → node_disk_*', () => {
  it('converts a 20-field device: sectors × 512 to bytes, ms to seconds, discards left in sectors', () => {
    const all = points('disk', { devices: [vda] })
    const device = { device: 'vda' }
    expect(value(all, 'node_disk_reads_completed_total', device)).toBe(8250)
    expect(value(all, 'node_disk_reads_merged_total', device)).toBe(4904)
    expect(value(all, 'node_disk_read_bytes_total', device)).toBe(1093618 * 512)
    expect(value(all, 'node_disk_read_time_seconds_total', device)).toBe(5.126)
    expect(value(all, 'node_disk_writes_completed_total', device)).toBe(1982)
    expect(value(all, 'node_disk_writes_merged_total', device)).toBe(9681)
    expect(value(all, 'node_disk_written_bytes_total', device)).toBe(1246666752)
    expect(value(all, 'node_disk_write_time_seconds_total', device)).toBe(12.411)
    expect(value(all, 'node_disk_io_now', device)).toBe(0)
    expect(value(all, 'node_disk_io_time_seconds_total', device)).toBe(3.684)
    expect(value(all, 'node_disk_io_time_weighted_seconds_total', device)).toBe(17.793)
    expect(value(all, 'node_disk_discards_completed_total', device)).toBe(3197)
    expect(value(all, 'node_disk_discards_merged_total', device)).toBe(30)
    expect(value(all, 'node_disk_discarded_sectors_total', device)).toBe(58136)
    expect(value(all, 'node_disk_discard_time_seconds_total', device)).toBe(0.251)
    expect(value(all, 'node_disk_flush_requests_total', device)).toBe(61)
    expect(value(all, 'node_disk_flush_requests_time_seconds_total', device)).toBe(0.003)
    expect(all).toHaveLength(17)
  })

  it('emits no discard or flush series for older layouts, like node_exporter’s statCount cut-off', () => {
    const fourteen = points('disk', { devices: [sda] })
    expect(fourteen).toHaveLength(11)
    const eighteen = points('disk', {
      devices: [
        {
          ...sda,
          discards_completed: 68851,
          discards_merged: 0,
          sectors_discarded: 1925173784,
          discard_time_ms: 11130,
        },
      ],
    })
    expect(eighteen).toHaveLength(15)
    expect(eighteen.some((p) => p.name.startsWith('node_disk_flush'))).toBe(false)
  })

  it('multiplies ms by 0.001 as node_exporter does, so last-bit differences match it', () => {
    // 9653880 * 0.001 is 9653.880000000001 in float64, while 9653880 / 1000 is 9653.88.
    const all = points('disk', { devices: [sda] } satisfies DiskSample)
    expect(value(all, 'node_disk_io_time_seconds_total', { device: 'sda' })).toBe(9653880 * 0.001)
    expect(value(all, 'node_disk_io_time_seconds_total', { device: 'sda' })).not.toBe(9653.88)
  })
})

describe('load → node_load1/5/15', () => {
  it('emits the three averages and nothing else', () => {
    const load: LoadSample = {
      load1: 0.19,
      load5: 0.23,
      load15: 0.1,
      threads_running: 1,
      threads_total: 85,
      last_pid: 4853,
    }
    expect(points('load', load)).toEqual([
      { name: 'node_load1', labels: {}, value: 0.19 },
      { name: 'node_load5', labels: {}, value: 0.23 },
      { name: 'node_load15', labels: {}, value: 0.1 },
    ])
  })
})

/** live-t0's /proc/pressure. */
const livePressure: PressureSample = {
  cpu: {
    some: { avg10: 0.02, avg60: 0.77, avg300: 1.12, total_us: 7230773 },
    full: { avg10: 0, avg60: 0, avg300: 0, total_us: 0 },
  },
  memory: {
    some: { avg10: 0, avg60: 0, avg300: 0, total_us: 0 },
    full: { avg10: 0, avg60: 0, avg300: 0, total_us: 0 },
  },
  io: {
    some: { avg10: 0, avg60: 0.07, avg300: 0.12, total_us: 1150812 },
    full: { avg10: 0, avg60: 0.06, avg300: 0.1, total_us: 1011316 },
  },
  irq: null,
}

/** Part of live-t0's /proc/vmstat: every field node_exporter's default filter keeps, and some an agent told to keep more would send. */
const liveVmstat: VmstatSample = {
  fields: {
    nr_free_pages: 1106029,
    pgpgin: 546809,
    pgpgout: 1217448,
    pswpin: 0,
    pswpout: 0,
    pgalloc_normal: 2337290,
    pgfault: 1368956,
    pgmajfault: 376,
    thp_fault_alloc: 0,
    oom_kill: 0,
  },
}

/** / of the machine the tests run on (statfs), and an NFS mount statfs failed on. */
const filesystems: FilesystemSample = {
  filesystems: [
    {
      device: '/dev/vda',
      mountpoint: '/',
      fstype: 'ext4',
      readonly: false,
      error: null,
      statfs: {
        block_size: 4096,
        blocks: 66053021,
        blocks_free: 62492319,
        blocks_avail: 20314614,
        files: 16777216,
        files_free: 16341327,
      },
    },
    {
      device: 'server:/export',
      mountpoint: '/mnt/nfs',
      fstype: 'nfs4',
      readonly: true,
      error: "EACCES: permission denied, statfs '/mnt/nfs'",
      statfs: null,
    },
  ],
}

describe('pressure → node_pressure_*', () => {
  it('emits some as waiting and full as stalled, µs to seconds, cpu’s full line left out as in 1.5', () => {
    expect(points('pressure', livePressure)).toEqual([
      { name: 'node_pressure_cpu_waiting_seconds_total', labels: {}, value: 7.230773 },
      { name: 'node_pressure_io_waiting_seconds_total', labels: {}, value: 1.150812 },
      { name: 'node_pressure_io_stalled_seconds_total', labels: {}, value: 1.011316 },
      { name: 'node_pressure_memory_waiting_seconds_total', labels: {}, value: 0 },
      { name: 'node_pressure_memory_stalled_seconds_total', labels: {}, value: 0 },
    ])
  })

  it('divides by 1000 twice as node_exporter does, which differs from / 1e6 in the last bit', () => {
    const total = 681760019
    const all = points('pressure', {
      ...livePressure,
      cpu: { some: { ...livePressure.cpu.some, total_us: total }, full: null },
    })
    expect(value(all, 'node_pressure_cpu_waiting_seconds_total')).toBe(total / 1000 / 1000)
    expect(value(all, 'node_pressure_cpu_waiting_seconds_total')).toBe(681.7600189999999)
    expect(value(all, 'node_pressure_cpu_waiting_seconds_total')).not.toBe(total / 1e6)
  })

  it('emits no stalled series for a resource without a full line', () => {
    const all = points('pressure', { ...livePressure, io: { ...livePressure.io, full: null } })
    expect(all.map((p) => p.name)).not.toContain('node_pressure_io_stalled_seconds_total')
    expect(all).toHaveLength(4)
  })

  it('adds irq’s full line where the kernel has /proc/pressure/irq (Linux 6.1+)', () => {
    const irq = {
      some: { avg10: 0, avg60: 0, avg300: 0, total_us: 0 },
      full: { avg10: 0, avg60: 0, avg300: 0, total_us: 2500000 },
    }
    expect(
      value(points('pressure', { ...livePressure, irq }), 'node_pressure_irq_stalled_seconds_total'),
    ).toBe(2.5)
    expect(points('pressure', livePressure).map((p) => p.name)).not.toContain(
      'node_pressure_irq_stalled_seconds_total',
    )
  })
})

describe('vmstat → node_vmstat_*', () => {
  it('emits every field the agent sent, unconverted', () => {
    expect(points('vmstat', liveVmstat)).toEqual([
      { name: 'node_vmstat_nr_free_pages', labels: {}, value: 1106029 },
      { name: 'node_vmstat_pgpgin', labels: {}, value: 546809 },
      { name: 'node_vmstat_pgpgout', labels: {}, value: 1217448 },
      { name: 'node_vmstat_pswpin', labels: {}, value: 0 },
      { name: 'node_vmstat_pswpout', labels: {}, value: 0 },
      { name: 'node_vmstat_pgalloc_normal', labels: {}, value: 2337290 },
      { name: 'node_vmstat_pgfault', labels: {}, value: 1368956 },
      { name: 'node_vmstat_pgmajfault', labels: {}, value: 376 },
      { name: 'node_vmstat_thp_fault_alloc', labels: {}, value: 0 },
      { name: 'node_vmstat_oom_kill', labels: {}, value: 0 },
    ])
  })

  it('matches like Go’s unanchored-end MatchString', () => {
    expect(DEFAULT_VMSTAT_FIELDS.test('oom_kill_extra')).toBe(true)
    expect(DEFAULT_VMSTAT_FIELDS.test('pgsteal_fault_x')).toBe(true)
    expect(DEFAULT_VMSTAT_FIELDS.test('thp_fault_alloc')).toBe(false)
    expect(DEFAULT_VMSTAT_FIELDS.test('nr_pgpg')).toBe(false)
  })
})

describe('filesystem → node_filesystem_*', () => {
  it('converts blocks to bytes and labels with device, fstype and mountpoint', () => {
    const all = points('filesystem', filesystems)
    const root = { device: '/dev/vda', fstype: 'ext4', mountpoint: '/' }
    expect(all.filter((p) => p.labels.mountpoint === '/').map((p) => [p.name, p.value])).toEqual([
      ['node_filesystem_device_error', 0],
      ['node_filesystem_size_bytes', 270553174016],
      ['node_filesystem_free_bytes', 62492319 * 4096],
      ['node_filesystem_avail_bytes', 83208658944],
      ['node_filesystem_files', 16777216],
      ['node_filesystem_files_free', 16341327],
      ['node_filesystem_readonly', 0],
    ])
    expect(all.find((p) => p.name === 'node_filesystem_size_bytes')?.labels).toEqual(root)
  })

  it('emits only device_error = 1 for a filesystem statfs failed on, as 1.5 does', () => {
    const nfs = points('filesystem', filesystems).filter((p) => p.labels.mountpoint === '/mnt/nfs')
    expect(nfs).toEqual([
      {
        name: 'node_filesystem_device_error',
        labels: { device: 'server:/export', fstype: 'nfs4', mountpoint: '/mnt/nfs' },
        value: 1,
      },
    ])
  })
})

describe('metricInfo', () => {
  it('knows HELP and TYPE of every series the mapping emits', () => {
    const all = [
      ...points('cpu', liveCpu),
      ...points('memory', { fields: { MemTotal: 1, 'Active(anon)': 2, HugePages_Total: 0 } }),
      ...points('network', {
        interfaces: [
          {
            device: 'lo',
            rx_bytes: 0,
            rx_packets: 0,
            rx_errs: 0,
            rx_drop: 0,
            rx_fifo: 0,
            rx_frame: 0,
            rx_compressed: 0,
            rx_multicast: 0,
            tx_bytes: 0,
            tx_packets: 0,
            tx_errs: 0,
            tx_drop: 0,
            tx_fifo: 0,
            tx_colls: 0,
            tx_carrier: 0,
            tx_compressed: 0,
          },
        ],
      }),
      ...points('disk', { devices: [vda] }),
      ...points('load', { load1: 0, load5: 0, load15: 0, threads_running: 0, threads_total: 0, last_pid: 0 }),
      ...points('pressure', livePressure),
      ...points('vmstat', liveVmstat),
      ...points('filesystem', filesystems),
    ]
    for (const p of all) expect(metricInfo(p.name), p.name).toBeDefined()
    const staticNames = new Set(STATIC_METRICS.map((m) => m.name))
    for (const p of all)
      if (!/^node_(memory|vmstat)_/.test(p.name)) expect(staticNames.has(p.name), p.name).toBe(true)
  })

  it('has node_exporter’s texts and types', () => {
    expect(metricInfo('node_cpu_seconds_total')).toEqual({
      name: 'node_cpu_seconds_total',
      help: 'Seconds the CPUs spent in each mode.',
      type: 'counter',
    })
    expect(metricInfo('node_boot_time_seconds')?.type).toBe('gauge')
    expect(metricInfo('node_disk_io_now')?.type).toBe('gauge')
    expect(metricInfo('node_network_transmit_colls_total')?.help).toBe(
      'Network device statistic transmit_colls.',
    )
    expect(metricInfo('node_memory_Active_anon_bytes')).toEqual({
      name: 'node_memory_Active_anon_bytes',
      help: 'Memory information field Active_anon_bytes.',
      type: 'gauge',
    })
    // meminfo.go types a key ending in _total as a counter; HugePages_Total ends in _Total.
    expect(metricInfo('node_memory_HugePages_Total')?.type).toBe('gauge')
    expect(metricInfo('node_memory_Foo_total')?.type).toBe('counter')
    expect(metricInfo('node_load1')?.help).toBe('1m load average.')
    expect(metricInfo('node_pressure_io_stalled_seconds_total')).toEqual({
      name: 'node_pressure_io_stalled_seconds_total',
      help: 'Total time in seconds no process could make progress due to IO congestion',
      type: 'counter',
    })
    expect(metricInfo('node_vmstat_pgmajfault')).toEqual({
      name: 'node_vmstat_pgmajfault',
      help: '/proc/vmstat information field pgmajfault.',
      type: 'untyped',
    })
    expect(metricInfo('node_filesystem_avail_bytes')).toEqual({
      name: 'node_filesystem_avail_bytes',
      help: 'Filesystem space available to non-root users in bytes.',
      type: 'gauge',
    })
  })

  it('knows nothing of other names', () => {
    expect(metricInfo('node_filesystem_mount_info')).toBeUndefined()
    expect(metricInfo('node_pressure_cpu_stalled_seconds_total')).toBeUndefined()
    expect(metricInfo('node_vmstat_bad-name')).toBeUndefined()
    expect(metricInfo('node_memory_')).toBeUndefined()
    expect(metricInfo('node_memory_bad name')).toBeUndefined()
  })
})

describe('samplePoints', () => {
  it('gives the same points as toMetricPoints for a family-tagged sample', () => {
    const tagged: MetricPoint[] = []
    samplePoints({ family: 'cpu', data: liveCpu }, (name, labels, v) =>
      tagged.push({ name, labels, value: v }),
    )
    expect(tagged).toEqual(points('cpu', liveCpu))
  })
})
