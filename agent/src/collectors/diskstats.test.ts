import { describe, expect, it } from 'vitest'
import { readFixture } from './__fixtures__/fixtures.ts'
import { DEFAULT_DISK_EXCLUDE, parseDiskstats, type DiskstatsFilter } from './diskstats.ts'

function parse(
  text: string,
  filter?: DiskstatsFilter,
): { sample: ReturnType<typeof parseDiskstats>; problems: string[] } {
  const problems: string[] = []
  const sample = parseDiskstats(text, filter, (p) => problems.push(p))
  return { sample, problems }
}

describe('parseDiskstats', () => {
  const procfs = readFixture('procfs/proc/diskstats')

  it('keeps whole disks, dm, mmc (with its partitions) and sr devices under node_exporter 1.5’s default exclusion', () => {
    const { sample, problems } = parse(procfs)
    expect(problems).toEqual([])
    expect(sample.devices.map((d) => d.device)).toEqual([
      'sda',
      'dm-0',
      'dm-1',
      'dm-2',
      'dm-3',
      'dm-4',
      'dm-5',
      'mmcblk0',
      'mmcblk0p1',
      'mmcblk0p2',
      'vda',
      'sr0',
      'nvme0n1',
      'sdb',
      'sdc',
    ])
  })

  it('reads a 14-field line (before 4.18) with null discard and flush counters', () => {
    const sda = parse(procfs).sample.devices.find((d) => d.device === 'sda')
    expect(sda).toEqual({
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
    })
  })

  it('reads an 18-field line (4.18+) with discards and null flush counters', () => {
    const sdb = parse(procfs).sample.devices.find((d) => d.device === 'sdb')
    expect(sdb).toEqual({
      device: 'sdb',
      major: 8,
      minor: 0,
      reads_completed: 326552,
      reads_merged: 841,
      sectors_read: 9657779,
      read_time_ms: 84,
      writes_completed: 41822,
      writes_merged: 2895,
      sectors_written: 1972905,
      write_time_ms: 5007,
      io_in_progress: 0,
      io_time_ms: 60730,
      weighted_io_time_ms: 67070,
      discards_completed: 68851,
      discards_merged: 0,
      sectors_discarded: 1925173784,
      discard_time_ms: 11130,
      flushes_completed: null,
      flush_time_ms: null,
    })
  })

  it('reads a 20-field line (5.5+) with every counter', () => {
    const sdc = parse(procfs).sample.devices.find((d) => d.device === 'sdc')
    expect(sdc).toMatchObject({
      major: 8,
      minor: 0,
      reads_completed: 14202,
      sectors_read: 579164,
      weighted_io_time_ms: 55200,
      discards_completed: 0,
      discard_time_ms: 0,
      flushes_completed: 127,
      flush_time_ms: 182,
    })
    const live = parse(readFixture('live-t0/proc/diskstats'))
    expect(live.problems).toEqual([])
    expect(live.sample.devices[0]).toEqual({
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
    })
  })

  it('leaves zram out, as node_exporter does since 2024 (1.5 kept it)', () => {
    expect(parse(readFixture('live-t0/proc/diskstats')).sample.devices.map((d) => d.device)).toEqual(['vda'])
  })

  it('uses exactly node_exporter 1.12’s default exclusion', () => {
    expect(DEFAULT_DISK_EXCLUDE.source).toBe('^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$')
    for (const name of [
      'ram0',
      'zram0',
      'loop12',
      'fd0',
      'sda1',
      'hdb2',
      'vda10',
      'xvdf1',
      'nvme0n1p1',
      'nvme10n2p3',
    ]) {
      expect(DEFAULT_DISK_EXCLUDE.test(name), name).toBe(true)
    }
    for (const name of ['sda', 'vda', 'nvme0n1', 'dm-0', 'md0', 'mmcblk0p1', 'sr0', 'sdaa1']) {
      expect(DEFAULT_DISK_EXCLUDE.test(name), name).toBe(false)
    }
  })

  it('takes a custom exclusion, or none', () => {
    expect(parse(procfs, { exclude: null }).sample.devices).toHaveLength(52)
    const noDm = parse(procfs, { exclude: /^(dm-|ram|loop)/ }).sample.devices
    expect(noDm.some((d) => d.device.startsWith('dm-'))).toBe(false)
    expect(noDm.some((d) => d.device === 'sda1')).toBe(true)
  })

  it('skips and reports short and non-numeric lines', () => {
    const text = [
      '   8       0 sda 1 2 3',
      '   8       1 sdq 1 2 3 4 5 6 7 8 9 10 x',
      '   x       2 sdr 1 2 3 4 5 6 7 8 9 10 11',
      '   8      16 sdb 1 2 3 4 5 6 7 8 9 10 11',
    ].join('\n')
    const { sample, problems } = parse(text)
    expect(sample.devices.map((d) => d.device)).toEqual(['sdb'])
    expect(problems).toHaveLength(3)
    expect(problems[0]).toContain('6 fields, need at least 14')
    // An excluded device is dropped before its counters are read.
    expect(parse('8 1 sda1 x x x x x x x x x x x').problems).toEqual([])
  })

  it('keeps what an unknown-length line has and reports it; ignores fields a future kernel appends', () => {
    const { sample, problems } = parse(
      '8 0 sdz 1 2 3 4 5 6 7 8 9 10 11 12 13\n8 16 sdy 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\n',
    )
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('16-field')
    expect(sample.devices[0]).toMatchObject({
      discards_completed: 12,
      discards_merged: 13,
      sectors_discarded: null,
    })
    expect(sample.devices[1]).toMatchObject({ flushes_completed: 16, flush_time_ms: 17 })
  })

  it('never throws on empty or garbage input', () => {
    expect(parse('')).toEqual({ sample: { devices: [] }, problems: ['/proc/diskstats: empty input'] })
    expect(parse('\u0000\u0001 \ufffd\n\n   \n').sample.devices).toEqual([])
  })
})
