import { describe, expect, it } from 'vitest'
import { readFixture } from '../collectors/__fixtures__/fixtures.ts'
import { parseDiskstats } from '../collectors/diskstats.ts'
import { parseLoadavg } from '../collectors/loadavg.ts'
import { parseMeminfo } from '../collectors/meminfo.ts'
import { parseNetDev } from '../collectors/netdev.ts'
import { parseStat } from '../collectors/stat.ts'
import { formatGoFloat } from '#platform/go-float.ts'
import { escapeLabelValue, formatMetricPoints, formatPrometheus } from './prometheus.ts'

describe('formatGoFloat (strconv.FormatFloat(v, "g", -1, 64))', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [1, '1'],
    [-1, '-1'],
    [18.96, '18.96'],
    [0.4, '0.4'],
    [123456, '123456'],
    [999999, '999999'],
    [123456.7, '123456.7'],
    [1e6, '1e+06'],
    [1234567, '1.234567e+06'],
    [-1234567.8, '-1.2345678e+06'],
    [25276514304, '2.5276514304e+10'],
    [1795353462, '1.795353462e+09'],
    [0.0001, '0.0001'],
    [0.00012, '0.00012'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [1e21, '1e+21'],
    [1e100, '1e+100'],
    [0.1 + 0.2, '0.30000000000000004'],
    [9653880 * 0.001, '9653.880000000001'],
    [Number.MAX_SAFE_INTEGER, '9.007199254740991e+15'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ])('%s → %s', (input, expected) => {
    expect(formatGoFloat(input)).toBe(expected)
  })
})

describe('formatPrometheus', () => {
  it('prints the live VM’s cpu and load like node_exporter: names sorted, series by label values', () => {
    const text = formatPrometheus([
      { family: 'load', data: parseLoadavg(readFixture('live-t0/proc/loadavg')) },
      { family: 'cpu', data: parseStat(readFixture('live-t0/proc/stat')) },
    ])
    expect(text).toBe(`# HELP node_boot_time_seconds Node boot time, in unixtime.
# TYPE node_boot_time_seconds gauge
node_boot_time_seconds 1.795353462e+09
# HELP node_context_switches_total Total number of context switches.
# TYPE node_context_switches_total counter
node_context_switches_total 507918
# HELP node_cpu_guest_seconds_total Seconds the CPUs spent in guests (VMs) for each mode.
# TYPE node_cpu_guest_seconds_total counter
node_cpu_guest_seconds_total{cpu="0",mode="nice"} 0
node_cpu_guest_seconds_total{cpu="0",mode="user"} 0
node_cpu_guest_seconds_total{cpu="1",mode="nice"} 0
node_cpu_guest_seconds_total{cpu="1",mode="user"} 0
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 255.01
node_cpu_seconds_total{cpu="0",mode="iowait"} 0.18
node_cpu_seconds_total{cpu="0",mode="irq"} 0
node_cpu_seconds_total{cpu="0",mode="nice"} 0
node_cpu_seconds_total{cpu="0",mode="softirq"} 0.09
node_cpu_seconds_total{cpu="0",mode="steal"} 0.4
node_cpu_seconds_total{cpu="0",mode="system"} 10.35
node_cpu_seconds_total{cpu="0",mode="user"} 18.96
node_cpu_seconds_total{cpu="1",mode="idle"} 244.04
node_cpu_seconds_total{cpu="1",mode="iowait"} 1.24
node_cpu_seconds_total{cpu="1",mode="irq"} 0
node_cpu_seconds_total{cpu="1",mode="nice"} 0
node_cpu_seconds_total{cpu="1",mode="softirq"} 0.22
node_cpu_seconds_total{cpu="1",mode="steal"} 0.4
node_cpu_seconds_total{cpu="1",mode="system"} 16.32
node_cpu_seconds_total{cpu="1",mode="user"} 22.96
# HELP node_forks_total Total number of forks.
# TYPE node_forks_total counter
node_forks_total 4842
# HELP node_intr_total Total number of interrupts serviced.
# TYPE node_intr_total counter
node_intr_total 222287
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.19
# HELP node_load15 15m load average.
# TYPE node_load15 gauge
node_load15 0.1
# HELP node_load5 5m load average.
# TYPE node_load5 gauge
node_load5 0.23
# HELP node_procs_blocked Number of processes blocked waiting for I/O to complete.
# TYPE node_procs_blocked gauge
node_procs_blocked 0
# HELP node_procs_running Number of processes in runnable state.
# TYPE node_procs_running gauge
node_procs_running 1
`)
  })

  it('prints the live VM’s disks (20-field vda; zram0 left out, as node_exporter does since 2024)', () => {
    const text = formatPrometheus([
      { family: 'disk', data: parseDiskstats(readFixture('live-t0/proc/diskstats')) },
    ])
    expect(text)
      .toBe(`# HELP node_disk_discard_time_seconds_total This is the total number of seconds spent by all discards.
# TYPE node_disk_discard_time_seconds_total counter
node_disk_discard_time_seconds_total{device="vda"} 0.251
# HELP node_disk_discarded_sectors_total The total number of sectors discarded successfully.
# TYPE node_disk_discarded_sectors_total counter
node_disk_discarded_sectors_total{device="vda"} 58136
# HELP node_disk_discards_completed_total The total number of discards completed successfully.
# TYPE node_disk_discards_completed_total counter
node_disk_discards_completed_total{device="vda"} 3197
# HELP node_disk_discards_merged_total The total number of discards merged.
# TYPE node_disk_discards_merged_total counter
node_disk_discards_merged_total{device="vda"} 30
# HELP node_disk_flush_requests_time_seconds_total This is the total number of seconds spent by all flush requests.
# TYPE node_disk_flush_requests_time_seconds_total counter
node_disk_flush_requests_time_seconds_total{device="vda"} 0.003
# HELP node_disk_flush_requests_total The total number of flush requests completed successfully
# TYPE node_disk_flush_requests_total counter
node_disk_flush_requests_total{device="vda"} 61
# HELP node_disk_io_now The number of I/Os currently in progress.
# TYPE node_disk_io_now gauge
node_disk_io_now{device="vda"} 0
# HELP node_disk_io_time_seconds_total Total seconds spent doing I/Os.
# TYPE node_disk_io_time_seconds_total counter
node_disk_io_time_seconds_total{device="vda"} 3.684
# HELP node_disk_io_time_weighted_seconds_total The weighted # of seconds spent doing I/Os.
# TYPE node_disk_io_time_weighted_seconds_total counter
node_disk_io_time_weighted_seconds_total{device="vda"} 17.793
# HELP node_disk_read_bytes_total The total number of bytes read successfully.
# TYPE node_disk_read_bytes_total counter
node_disk_read_bytes_total{device="vda"} 5.59932416e+08
# HELP node_disk_read_time_seconds_total The total number of seconds spent by all reads.
# TYPE node_disk_read_time_seconds_total counter
node_disk_read_time_seconds_total{device="vda"} 5.126
# HELP node_disk_reads_completed_total The total number of reads completed successfully.
# TYPE node_disk_reads_completed_total counter
node_disk_reads_completed_total{device="vda"} 8250
# HELP node_disk_reads_merged_total The total number of reads merged.
# TYPE node_disk_reads_merged_total counter
node_disk_reads_merged_total{device="vda"} 4904
# HELP node_disk_write_time_seconds_total This is the total number of seconds spent by all writes.
# TYPE node_disk_write_time_seconds_total counter
node_disk_write_time_seconds_total{device="vda"} 12.411
# HELP node_disk_writes_completed_total The total number of writes completed successfully.
# TYPE node_disk_writes_completed_total counter
node_disk_writes_completed_total{device="vda"} 1982
# HELP node_disk_writes_merged_total The number of writes merged.
# TYPE node_disk_writes_merged_total counter
node_disk_writes_merged_total{device="vda"} 9681
# HELP node_disk_written_bytes_total The total number of bytes written successfully.
# TYPE node_disk_written_bytes_total counter
node_disk_written_bytes_total{device="vda"} 1.246666752e+09
`)
  })

  it('prints memory and network series from the procfs fixture', () => {
    const text = formatPrometheus([
      { family: 'memory', data: parseMeminfo(readFixture('procfs/proc/meminfo')) },
      { family: 'network', data: parseNetDev(readFixture('procfs/proc/net/dev'), { exclude: null }) },
    ])
    const lines = text.split('\n')
    expect(lines).toContain('# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.')
    expect(lines).toContain('# TYPE node_memory_MemTotal_bytes gauge')
    expect(lines).toContain('node_memory_MemTotal_bytes 1.6042172416e+10')
    expect(lines).toContain('node_memory_Active_anon_bytes 2.73670144e+08')
    expect(lines).toContain('node_memory_HugePages_Total 0')
    expect(lines).toContain('node_memory_VmallocTotal_bytes 3.5184372087808e+13')
    expect(lines).toContain('# HELP node_network_receive_bytes_total Network device statistic receive_bytes.')
    expect(lines).toContain('# TYPE node_network_receive_bytes_total counter')
    const receiveBytes = lines.filter((l) => l.startsWith('node_network_receive_bytes_total{'))
    expect(receiveBytes).toEqual([
      'node_network_receive_bytes_total{device="docker0"} 2568',
      'node_network_receive_bytes_total{device="eth0"} 8.74354587e+08',
      'node_network_receive_bytes_total{device="lo"} 1.664039048e+09',
      'node_network_receive_bytes_total{device="vethf345468"} 648',
    ])
    // Each name gets HELP and TYPE exactly once.
    expect(lines.filter((l) => l === '# TYPE node_network_receive_bytes_total counter')).toHaveLength(1)
    expect(lines.filter((l) => l.startsWith('node_network_'))).toHaveLength(4 * 16)
  })

  it('agrees with node_exporter’s own expected output for the disks its test fixture shares with ours', () => {
    // Expected lines of TestDiskStats in prometheus/node_exporter collector/diskstats_linux_test.go
    // (go-kit era, 1.3–1.5), whose /proc/diskstats matches the procfs fixture for these devices.
    // The whole output was diffed once: identical apart from node_disk_info and sdc, whose line differs.
    const lines = formatPrometheus([
      { family: 'disk', data: parseDiskstats(readFixture('procfs/proc/diskstats')) },
    ]).split('\n')
    for (const line of [
      'node_disk_io_time_weighted_seconds_total{device="vda"} 2.0778722280000001e+06',
      'node_disk_read_time_seconds_total{device="dm-2"} 6.5360000000000005',
      'node_disk_read_time_seconds_total{device="nvme0n1"} 21.650000000000002',
      'node_disk_io_time_seconds_total{device="sdb"} 60.730000000000004',
      'node_disk_read_bytes_total{device="dm-0"} 5.13708655616e+11',
      'node_disk_reads_completed_total{device="dm-0"} 5.9910002e+07',
      'node_disk_discarded_sectors_total{device="sdb"} 1.925173784e+09',
      'node_disk_write_time_seconds_total{device="dm-0"} 1.1585578e+06',
    ]) {
      expect(lines).toContain(line)
    }
    expect(
      lines.filter((l) => l.startsWith('node_disk_io_now{')).map((l) => /device="([^"]+)"/.exec(l)?.[1]),
    ).toEqual([
      'dm-0',
      'dm-1',
      'dm-2',
      'dm-3',
      'dm-4',
      'dm-5',
      'mmcblk0',
      'mmcblk0p1',
      'mmcblk0p2',
      'nvme0n1',
      'sda',
      'sdb',
      'sdc',
      'sr0',
      'vda',
    ])
  })

  it('is empty for no samples', () => {
    expect(formatPrometheus([])).toBe('')
  })
})

describe('formatMetricPoints', () => {
  it('escapes label values and types unknown names as untyped', () => {
    const text = formatMetricPoints([
      { name: 'custom_metric', labels: { path: 'C:\\dir "x"\nnext', a: 'first' }, value: 1.5 },
    ])
    expect(text).toBe(
      '# TYPE custom_metric untyped\ncustom_metric{a="first",path="C:\\\\dir \\"x\\"\\nnext"} 1.5\n',
    )
    expect(escapeLabelValue('plain')).toBe('plain')
  })

  it('sorts series by label values in byte order, as client_golang does', () => {
    const text = formatMetricPoints(
      ['10', '2', '1'].map((cpu) => ({
        name: 'node_cpu_seconds_total',
        labels: { mode: 'user', cpu },
        value: 0,
      })),
    )
    expect(text.split('\n').filter((l) => !l.startsWith('#') && l !== '')).toEqual([
      'node_cpu_seconds_total{cpu="1",mode="user"} 0',
      'node_cpu_seconds_total{cpu="10",mode="user"} 0',
      'node_cpu_seconds_total{cpu="2",mode="user"} 0',
    ])
  })
})
