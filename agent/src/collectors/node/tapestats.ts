import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'
import { parseGoUint } from './fibrechannel.ts'

/**
 * Each drive appears as st0 plus mode and no-rewind aliases (st0a, st0l, nst0, …) sharing its
 * counters; procfs keeps only the plain `st<N>`.
 */
const TAPE_DRIVE = /^st[0-9]+$/
const NANOSECONDS = 0.000000001

/** stats/<file> → metric, and the factor nanosecond times are scaled to seconds by. */
const STATS: readonly (readonly [file: string, metric: string, scale?: number])[] = [
  ['in_flight', 'node_tape_io_now'],
  ['io_ns', 'node_tape_io_time_seconds_total', NANOSECONDS],
  ['other_cnt', 'node_tape_io_others_total'],
  ['read_byte_cnt', 'node_tape_read_bytes_total'],
  ['read_cnt', 'node_tape_reads_completed_total'],
  ['read_ns', 'node_tape_read_time_seconds_total', NANOSECONDS],
  ['resid_cnt', 'node_tape_residual_total'],
  ['write_byte_cnt', 'node_tape_written_bytes_total'],
  ['write_cnt', 'node_tape_writes_completed_total'],
  ['write_ns', 'node_tape_write_time_seconds_total', NANOSECONDS],
]

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function readStat(ctx: CollectorContext, path: string): number | undefined {
  let text: string
  try {
    text = ctx.fs.readText(path).trim()
  } catch (err) {
    // A kernel without per-drive statistics (before 4.2) has no stats/ folder.
    if (!isAbsent(err)) ctx.problem(`${path}: ${message(err)}`)
    return undefined
  }
  const value = parseGoUint(text)
  if (value === undefined) ctx.problem(`${path}: not an unsigned integer: ${excerpt(text)}`)
  return value === undefined ? undefined : Number(value)
}

/**
 * /sys/class/scsi_tape/st<N>/stats/*, as node_exporter's tapestats collector: per tape drive, the
 * I/Os in flight, reads, writes and other commands, bytes moved, and time spent in seconds.
 */
export const tapestats: NodeCollector = {
  name: 'tapestats',
  description: 'SCSI tape drive I/O statistics (/sys/class/scsi_tape)',
  defaultEnabled: true,
  options: {
    'ignored-devices': { default: '^$', help: 'Regexp of devices to ignore for tapestats.' },
  },
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/scsi_tape')
    const ignored = new RegExp(ctx.options['ignored-devices'] ?? '^$')
    return {
      collect: (emit) => {
        let names: string[]
        try {
          names = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const device of names) {
          if (!TAPE_DRIVE.test(device) || ignored.test(device)) continue
          for (const [file, metric, scale] of STATS) {
            const value = readStat(ctx, join(root, device, 'stats', file))
            if (value !== undefined) emit(metric, { device }, scale === undefined ? value : value * scale)
          }
        }
      },
    }
  },
}
