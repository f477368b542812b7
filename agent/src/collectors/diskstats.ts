import type { DiskCounters, DiskSample } from '#schemas/src/records.ts'
import { excerpt, forEachLine, matches, parseInteger, tokenize, type ProblemHandler } from './parse-util.ts'

/**
 * node_exporter 1.5's default --collector.diskstats.device-exclude: partitions of sd/hd/vd/xvd and
 * nvme disks, ram disks, loop devices and floppies, whose I/O the whole disk already counts.
 * Checked against the source (prometheus/node_exporter collector/diskstats_linux.go,
 * `diskstatsDefaultIgnoredDevices`) and against 1.5.0's start-up log, which prints
 * `flag=^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$`. Releases from 2024 on (PR #2898, and
 * 1.12 whose fixture output the agent matches) also exclude zram, compressed RAM whose "I/O" is
 * memory traffic: so do we, as the diskinfo collector does for the same devices.
 */
export const DEFAULT_DISK_EXCLUDE = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/

export interface DiskstatsFilter {
  /** Devices whose name matches are left out; undefined → DEFAULT_DISK_EXCLUDE, null → none. */
  exclude?: RegExp | null
}

/** The counters after major, minor and name, in the kernel's order (Documentation/admin-guide/iostats.rst). */
const BASE_COLUMNS = [
  'reads_completed',
  'reads_merged',
  'sectors_read',
  'read_time_ms',
  'writes_completed',
  'writes_merged',
  'sectors_written',
  'write_time_ms',
  'io_in_progress',
  'io_time_ms',
  'weighted_io_time_ms',
] as const satisfies readonly (keyof DiskCounters)[]

/** Added in 4.18 (fields 15–18) and 5.5 (fields 19–20). */
const OPTIONAL_COLUMNS = [
  'discards_completed',
  'discards_merged',
  'sectors_discarded',
  'discard_time_ms',
  'flushes_completed',
  'flush_time_ms',
] as const satisfies readonly (keyof DiskCounters)[]

const LEADING_FIELDS = 3
const MIN_FIELDS = LEADING_FIELDS + BASE_COLUMNS.length
const MAX_FIELDS = MIN_FIELDS + OPTIONAL_COLUMNS.length
/** The layouts real kernels print: before 4.18, 4.18+, 5.5+. */
const KNOWN_LAYOUTS: readonly number[] = [14, 18, 20]

/**
 * /proc/diskstats → DiskSample, in file order. 14-field lines carry null discard and flush
 * counters, 18-field lines null flush counters. Fields a future kernel appends beyond 20 are
 * ignored. A line with fewer than 14 fields or a non-numeric counter is left out and reported;
 * a line of an unknown length in between keeps what it has and is reported.
 */
export function parseDiskstats(text: string, filter?: DiskstatsFilter, onError?: ProblemHandler): DiskSample {
  const exclude = filter?.exclude === undefined ? DEFAULT_DISK_EXCLUDE : filter.exclude
  const devices: DiskCounters[] = []
  let nonBlank = 0
  forEachLine(text, (start, end) => {
    const fields = tokenize(text, start, end)
    if (fields.length === 0) return
    nonBlank++
    const device = fields[2]
    if (fields.length < MIN_FIELDS || device === undefined) {
      onError?.(
        `/proc/diskstats: ${fields.length} fields, need at least ${MIN_FIELDS}: ${excerpt(text.slice(start, end))}`,
      )
      return
    }
    if (exclude !== null && matches(exclude, device)) return
    if (fields.length < MAX_FIELDS && !KNOWN_LAYOUTS.includes(fields.length)) {
      onError?.(
        `/proc/diskstats: unexpected ${fields.length}-field line, keeping what it has: ${excerpt(text.slice(start, end))}`,
      )
    }
    const counters = parseCounters(device, fields)
    if (counters === undefined)
      onError?.(`/proc/diskstats: non-numeric field in ${excerpt(text.slice(start, end))}`)
    else devices.push(counters)
  })
  if (nonBlank === 0) onError?.('/proc/diskstats: empty input')
  return { devices }
}

function parseCounters(device: string, fields: readonly string[]): DiskCounters | undefined {
  const major = parseInteger(fields[0] ?? '')
  const minor = parseInteger(fields[1] ?? '')
  if (major === undefined || minor === undefined) return undefined
  const counters: DiskCounters = {
    device,
    major,
    minor,
    reads_completed: 0,
    reads_merged: 0,
    sectors_read: 0,
    read_time_ms: 0,
    writes_completed: 0,
    writes_merged: 0,
    sectors_written: 0,
    write_time_ms: 0,
    io_in_progress: 0,
    io_time_ms: 0,
    weighted_io_time_ms: 0,
    discards_completed: null,
    discards_merged: null,
    sectors_discarded: null,
    discard_time_ms: null,
    flushes_completed: null,
    flush_time_ms: null,
  }
  for (let i = 0; i < BASE_COLUMNS.length; i++) {
    const column = BASE_COLUMNS[i]
    const value = parseInteger(fields[LEADING_FIELDS + i] ?? '')
    if (column === undefined || value === undefined) return undefined
    counters[column] = value
  }
  const optional = Math.min(fields.length, MAX_FIELDS) - MIN_FIELDS
  for (let i = 0; i < optional; i++) {
    const column = OPTIONAL_COLUMNS[i]
    const value = parseInteger(fields[MIN_FIELDS + i] ?? '')
    if (column === undefined || value === undefined) return undefined
    counters[column] = value
  }
  return counters
}
