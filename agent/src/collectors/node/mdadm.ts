import { excerpt, parseInteger, tokenize } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/** The `[n/m] [UU_]` part of a status line: disks the array needs, and disks in it. */
const STATUS_DISKS = /(\d+) blocks .*\[(\d+)\/(\d+)\] \[([U_]+)\]/
/** `(synced/total)` in a resync, recovery, check or reshape progress line. */
const SYNCED_BLOCKS = /\((\d+)\/\d+\)/
const DIGITS = /^\d+$/

/** The node_md_state series and the activity state (as prometheus/procfs names it) each stands for. */
const STATES: readonly (readonly [label: string, activity: string])[] = [
  ['active', 'active'],
  ['inactive', 'inactive'],
  ['recovering', 'recovering'],
  ['resync', 'resyncing'],
  ['check', 'checking'],
]

/** md levels whose sysfs `degraded` counts missing disks; for the others node_exporter prints 0. */
const REDUNDANT_LEVELS = new Set(['raid1', 'raid4', 'raid5', 'raid6', 'raid10'])

/** One array of /proc/mdstat. */
export interface MdStat {
  name: string
  /** active, inactive, …, or what it is doing: recovering, resyncing, checking, reshaping. */
  activity: string
  disksActive: number
  disksTotal: number
  disksFailed: number
  disksSpare: number
  blocks: number
  blocksSynced: number
}

/**
 * Linux software RAID, as node_exporter's mdadm collector reports it: each array of /proc/mdstat
 * with its state, disks and sync progress, and from /sys/block/md<N>/md the number of RAID disks and
 * of degraded ones.
 */
export const mdadm: NodeCollector = {
  name: 'mdadm',
  description: 'software RAID arrays (/proc/mdstat, /sys/block/md*/md)',
  defaultEnabled: true,
  open: (ctx) => {
    const mdstatPath = join(ctx.paths.procfs, 'mdstat')
    const blockDir = join(ctx.paths.sysfs, 'block')

    /** A whole number in a sysfs attribute; undefined after a problem report. */
    const readCount = (path: string): number | undefined => {
      let text: string
      try {
        text = ctx.fs.readText(path).trim()
      } catch (err) {
        if (!isAbsent(err)) throw err
        ctx.problem(`${path}: missing`)
        return undefined
      }
      const value = parseInteger(text)
      if (value === undefined || value < 0) ctx.problem(`${path}: not a count: ${excerpt(text)}`)
      return value !== undefined && value >= 0 ? value : undefined
    }

    return {
      collect: (emit) => {
        let text: string
        try {
          text = ctx.fs.readText(mdstatPath)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        const arrays = parseMdstat(text, (p) => {
          ctx.problem(`${mdstatPath}: ${p}`)
        })
        for (const md of arrays) {
          const device = md.name
          emit('node_md_disks_required', { device }, md.disksTotal)
          emit('node_md_disks', { device, state: 'active' }, md.disksActive)
          emit('node_md_disks', { device, state: 'failed' }, md.disksFailed)
          emit('node_md_disks', { device, state: 'spare' }, md.disksSpare)
          for (const [state, activity] of STATES) {
            emit('node_md_state', { device, state }, md.activity === activity ? 1 : 0)
          }
          emit('node_md_blocks', { device }, md.blocks)
          emit('node_md_blocks_synced', { device }, md.blocksSynced)
        }

        let devices: string[]
        try {
          devices = ctx.fs.readDir(blockDir).filter((name) => name.startsWith('md'))
        } catch (err) {
          if (isAbsent(err)) return
          throw err
        }
        for (const device of devices) {
          const dir = join(blockDir, device, 'md')
          if (!ctx.fs.isDir(dir)) continue
          let level: string
          try {
            level = ctx.fs.readText(join(dir, 'level')).trim()
          } catch (err) {
            if (!isAbsent(err)) throw err
            ctx.problem(`${join(dir, 'level')}: missing`)
            continue
          }
          const raidDisks = readCount(join(dir, 'raid_disks'))
          const degraded = REDUNDANT_LEVELS.has(level) ? readCount(join(dir, 'degraded')) : 0
          if (raidDisks === undefined || degraded === undefined) continue
          emit('node_md_raid_disks', { device }, raidDisks)
          emit('node_md_degraded', { device }, degraded)
        }
      },
    }
  },
}

/**
 * /proc/mdstat as prometheus/procfs reads it: a line per array (`md0 : active raid1 sda1[0]
 * sdb1[1](F)`), then its status line (`… blocks … [2/1] [U_]`), an optional bitmap line and an
 * optional progress line. An array whose lines do not parse is reported and skipped (procfs drops
 * the whole file).
 */
export function parseMdstat(text: string, problem: (message: string) => void): MdStat[] {
  const arrays: MdStat[] = []
  const lines = text.split('\n')
  lines.forEach((line, i) => {
    if (
      line.trim() === '' ||
      line.startsWith(' ') ||
      line.startsWith('Personalities') ||
      line.startsWith('unused')
    ) {
      return
    }
    const fields = tokenize(line)
    const [name, , state] = fields
    if (name === undefined || state === undefined) {
      problem(`not an array line: ${excerpt(line)}`)
      return
    }
    const statusLine = lines[i + 1] ?? ''
    const status = evalStatusLine(line, statusLine)
    if (!status) {
      problem(`${name}: status line ${excerpt(statusLine)} does not parse`)
      return
    }
    const afterStatus = lines[i + 2] ?? ''
    const progress = (afterStatus.includes('bitmap') ? lines[i + 3] : afterStatus) ?? ''
    let activity = state
    let blocksSynced = status.blocks
    const recovering = progress.includes('recovery')
    const reshaping = progress.includes('reshape')
    const resyncing = progress.includes('resync')
    const checking = progress.includes('check')
    if (recovering || reshaping || resyncing || checking) {
      activity = recovering ? 'recovering' : reshaping ? 'reshaping' : checking ? 'checking' : 'resyncing'
      if (progress.includes('PENDING') || progress.includes('DELAYED')) blocksSynced = 0
      else {
        const synced = SYNCED_BLOCKS.exec(progress)?.[1]
        if (synced === undefined) {
          problem(`${name}: progress line ${excerpt(progress)} does not parse`)
          return
        }
        blocksSynced = Number(synced)
      }
    }
    arrays.push({
      name,
      activity,
      disksActive: status.active,
      disksTotal: status.total,
      disksFailed: count(line, '(F)'),
      disksSpare: count(line, '(S)'),
      blocks: status.blocks,
      blocksSynced,
    })
  })
  return arrays
}

/** Size and disks of an array from its two lines, or undefined when the status line does not parse. */
function evalStatusLine(
  arrayLine: string,
  statusLine: string,
): { blocks: number; active: number; total: number } | undefined {
  const size = tokenize(statusLine)[0]
  if (size === undefined || !DIGITS.test(size)) return undefined
  const blocks = Number(size)
  // Striped and linear arrays have no [n/m]; every member listed (`sda1[0]`) is in use.
  if (arrayLine.includes('raid0') || arrayLine.includes('linear')) {
    const members = count(arrayLine, '[')
    return { blocks, active: members, total: members }
  }
  if (arrayLine.includes('inactive')) return { blocks, active: 0, total: 0 }
  const m = STATUS_DISKS.exec(statusLine)
  if (!m?.[2] || !m[3]) return undefined
  return { blocks, active: Number(m[3]), total: Number(m[2]) }
}

function count(text: string, part: string): number {
  return text.split(part).length - 1
}
