import type { EmitPoint } from '#schemas/src/metric-model.ts'
import { excerpt, forEachLine, tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/** sysfs gives device sizes in 512-byte sectors, whatever the device's block size. */
const SECTOR_SIZE = 512
const BLOCK_GROUP_TYPES = ['data', 'metadata', 'system'] as const
/** commit_stats (Linux 6.0+) keys, the metric each feeds and its divisor (milliseconds to seconds). */
const COMMIT_STATS: readonly (readonly [key: string, metric: string, scale: number])[] = [
  ['commits', 'node_btrfs_commits_total', 1],
  ['last_commit_ms', 'node_btrfs_last_commit_seconds', 1000],
  ['max_commit_ms', 'node_btrfs_max_commit_seconds', 1000],
  ['total_commit_ms', 'node_btrfs_commit_seconds_total', 1000],
]

const UNSIGNED = /^\d+$/

/** A uint64 as Go's float64() rounds it: byte counts may pass 2^53, where parseInteger gives up. */
function parseUnsigned(token: string): number | undefined {
  return UNSIGNED.test(token) ? Number(token) : undefined
}

/**
 * procfs's btrfs ratio of raw space to data space per layout; layouts it does not know
 * (raid1c3, raid1c4) get 0, as in node_exporter.
 */
function allocationRatio(layout: string, devices: number): number {
  switch (layout) {
    case 'single':
    case 'raid0':
      return 1
    case 'dup':
    case 'raid1':
    case 'raid10':
      return 2
    case 'raid5':
      return devices / (devices - 1)
    case 'raid6':
      return devices / (devices - 2)
    default:
      return 0
  }
}

/**
 * Btrfs filesystems from /sys/fs/btrfs/<uuid>/, as node_exporter's btrfs collector reads them
 * when it cannot use ioctls. On a live system node_exporter also opens each btrfs mount point and
 * asks the kernel through BTRFS_IOC_FS_INFO, BTRFS_IOC_DEV_INFO and BTRFS_IOC_GET_DEV_STATS for
 * per-device used bytes and error counters (node_btrfs_device_unused_bytes,
 * node_btrfs_device_errors_total, and a btrfs_dev_uuid label on node_btrfs_device_size_bytes);
 * Node.js cannot make ioctls, so the agent always prints the sysfs form, device sizes labelled
 * by the name under devices/.
 *
 * Like procfs, a value file that is missing reads as 0 and a missing label as ''.
 */
export const btrfs: NodeCollector = {
  name: 'btrfs',
  description: 'Btrfs allocation, device and commit statistics (/sys/fs/btrfs)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'fs/btrfs')
    return {
      collect: (emit) => {
        let entries: string[]
        try {
          entries = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        // procfs globs fs/btrfs/*-*: the filesystems' UUIDs, not `features`.
        for (const entry of entries.filter((e) => e.includes('-'))) {
          const dir = join(root, entry)
          // Gone: unmounted since the listing.
          const devices = absentAs<string[] | undefined>(
            () => ctx.fs.readDir(join(dir, 'devices')),
            undefined,
          )
          if (devices !== undefined) collectFilesystem(ctx, dir, entry, devices, emit)
        }
      },
    }
  },
}

/** What read gives, or fallback when the file or folder is not there. */
function absentAs<T>(read: () => T, fallback: T): T {
  try {
    return read()
  } catch (err) {
    if (isAbsent(err)) return fallback
    throw err
  }
}

function collectFilesystem(
  ctx: CollectorContext,
  dir: string,
  entry: string,
  devices: readonly string[],
  emit: EmitPoint,
): void {
  const readFile = (name: string): string | undefined =>
    absentAs<string | undefined>(() => ctx.fs.readText(join(dir, name)).trim(), undefined)
  /** A number file: 0 when missing, undefined (reported) when it holds something else. */
  const readValue = (name: string): number | undefined => {
    const text = readFile(name)
    if (text === undefined) return 0
    const value = parseUnsigned(text)
    if (value === undefined) ctx.problem(`${join(dir, name)}: not a number: ${excerpt(text)}`)
    return value
  }

  const uuid = readFile('metadata_uuid') || entry

  emit('node_btrfs_info', { label: readFile('label') ?? '', uuid }, 1)
  const globalRsv = readValue('allocation/global_rsv_size')
  if (globalRsv !== undefined) emit('node_btrfs_global_rsv_size_bytes', { uuid }, globalRsv)

  for (const [metric, value] of readCommitStats(ctx, join(dir, 'commit_stats'), readFile('commit_stats')))
    emit(metric, { uuid }, value)

  for (const type of BLOCK_GROUP_TYPES) {
    const typeDir = `allocation/${type}`
    // An unmount removes the folders one by one: what is gone is left out.
    const entries = absentAs<string[] | undefined>(() => ctx.fs.readDir(join(dir, typeDir)), undefined)
    if (entries === undefined) continue
    const layouts = entries.filter((name) => ctx.fs.isDir(join(dir, typeDir, name)))
    const reserved = readValue(`${typeDir}/bytes_reserved`)
    if (reserved !== undefined) emit('node_btrfs_reserved_bytes', { block_group_type: type, uuid }, reserved)
    for (const mode of layouts) {
      const labels = { block_group_type: type, mode, uuid }
      const used = readValue(`${typeDir}/${mode}/used_bytes`)
      if (used !== undefined) emit('node_btrfs_used_bytes', { ...labels }, used)
      const total = readValue(`${typeDir}/${mode}/total_bytes`)
      if (total !== undefined) emit('node_btrfs_size_bytes', { ...labels }, total)
      emit('node_btrfs_allocation_ratio', labels, allocationRatio(mode, devices.length))
    }
  }

  for (const device of devices) {
    const sectors = readValue(`devices/${device}/size`)
    if (sectors !== undefined) emit('node_btrfs_device_size_bytes', { device, uuid }, sectors * SECTOR_SIZE)
  }
}

/**
 * commit_stats as `<key> <value>` lines. A kernel without the file (before 6.0) gets zeros, as
 * node_exporter prints them; a line that does not parse is reported and its metric left out.
 */
function readCommitStats(ctx: CollectorContext, path: string, text: string | undefined): Map<string, number> {
  const values = new Map<string, number | undefined>(COMMIT_STATS.map(([key]) => [key, 0]))
  if (text !== undefined) {
    forEachLine(text, (start, end) => {
      const tokens = tokenize(text, start, end)
      if (tokens.length === 0) return
      const [key = '', token = ''] = tokens
      const value = tokens.length === 2 ? parseUnsigned(token) : undefined
      if (value === undefined) {
        ctx.problem(`${path}: expected "<key> <number>", got ${excerpt(text.slice(start, end))}`)
        if (values.has(key)) values.set(key, undefined)
        return
      }
      if (values.has(key)) values.set(key, value)
    })
  }
  const out = new Map<string, number>()
  for (const [key, metric, scale] of COMMIT_STATS) {
    const value = values.get(key)
    if (value !== undefined) out.set(metric, value / scale)
  }
  return out
}
