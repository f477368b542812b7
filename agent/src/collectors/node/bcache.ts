import type { EmitPoint } from '#schemas/src/metric-model.ts'
import { excerpt, tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/** A cache set is named by its UUID: procfs globs `fs/bcache/*-*`, which skips `register` and the like. */
const CACHE_SET = /-/
/** procfs's globs `bdev[0-9]*` and `cache[0-9]*` inside a cache set. */
const BACKING_DEVICE = /^bdev[0-9]/
const CACHE_DEVICE = /^cache[0-9]/

/** bch_hprint's unit letters (drivers/md/bcache/util.c), powers of 1024. */
const MULTIPLIERS: Readonly<Record<string, number>> = {
  k: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
  P: 2 ** 50,
  E: 2 ** 60,
  Z: 2 ** 70,
  Y: 2 ** 80,
}
const DIGITS = /^\d+$/
const DECIMAL = /^\d+(?:\.\d+)?$/
const NANOSECONDS = 1e-9

/**
 * A value as bcache prints it, converted as procfs's dehumanize does: plain numbers as they are;
 * bch_hprint's `20.4G` is 20 plus a "fraction" that is really tenths of 1024ths (`.4` is 4/10.24),
 * times 1024^3; the result truncated to an integer. `signed` allows a leading `-` (the controller
 * terms). undefined for anything else.
 */
export function dehumanize(text: string, signed = false): number | undefined {
  const negative = signed && text.startsWith('-')
  const body = negative ? text.slice(1) : text
  const unit = body.slice(-1)
  const multiplier = Object.hasOwn(MULTIPLIERS, unit) ? MULTIPLIERS[unit] : undefined
  let value: number
  if (multiplier !== undefined) {
    const [whole = '', fraction, ...rest] = body.slice(0, -1).split('.')
    if (!DIGITS.test(whole) || rest.length > 0 || (fraction !== undefined && !DIGITS.test(fraction)))
      return undefined
    const mantissa = Number(whole) + (fraction === undefined ? 0 : Number(fraction) / 10.24)
    value = Math.trunc(mantissa * multiplier)
  } else if (DECIMAL.test(body)) {
    value = Math.trunc(Number(body))
  } else {
    return undefined
  }
  return negative ? -value : value
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** A file's text, or undefined (reported unless the kernel simply lacks it) when it cannot be read. */
function readFile(ctx: CollectorContext, path: string): string | undefined {
  try {
    return ctx.fs.readText(path)
  } catch (err) {
    if (!isAbsent(err)) ctx.problem(`${path}: ${message(err)}`)
    return undefined
  }
}

/** One humanized attribute, or undefined when it is missing (`cache_readaheads` since Linux 5.13) or garbled. */
function readValue(ctx: CollectorContext, path: string): number | undefined {
  const text = readFile(ctx, path)
  if (text === undefined) return undefined
  const value = dehumanize(text.trim())
  if (value === undefined) ctx.problem(`${path}: not a bcache value: ${excerpt(text.trim())}`)
  return value
}

/** Attributes of the cache set's own folder and its internal/ folder, and the gauge or counter each becomes. */
const CACHE_SET_VALUES: readonly (readonly [file: string, metric: string, scale?: number])[] = [
  ['average_key_size', 'node_bcache_average_key_size_sectors'],
  ['btree_cache_size', 'node_bcache_btree_cache_size_bytes'],
  ['cache_available_percent', 'node_bcache_cache_available_percent'],
  ['congested', 'node_bcache_congested'],
  ['root_usage_percent', 'node_bcache_root_usage_percent'],
  ['tree_depth', 'node_bcache_tree_depth'],
  ['internal/active_journal_entries', 'node_bcache_active_journal_entries'],
  ['internal/btree_nodes', 'node_bcache_btree_nodes'],
  // The file holds microseconds; node_exporter scales it as nanoseconds, and its output is matched.
  ['internal/btree_read_average_duration_us', 'node_bcache_btree_read_average_duration_seconds', NANOSECONDS],
  ['internal/cache_read_races', 'node_bcache_cache_read_races_total'],
]

/** A backing device's stats_total/ counters. */
const BACKING_TOTALS: readonly (readonly [file: string, metric: string])[] = [
  ['bypassed', 'node_bcache_bypassed_bytes_total'],
  ['cache_hits', 'node_bcache_cache_hits_total'],
  ['cache_misses', 'node_bcache_cache_misses_total'],
  ['cache_bypass_hits', 'node_bcache_cache_bypass_hits_total'],
  ['cache_bypass_misses', 'node_bcache_cache_bypass_misses_total'],
  ['cache_miss_collisions', 'node_bcache_cache_miss_collisions_total'],
]

/**
 * The lines of writeback_rate_debug node_exporter exports: line label, whether the value may be
 * negative, metric. `rate` and `change` carry a `/sec` unit.
 */
const WRITEBACK_DEBUG: readonly (readonly [label: string, signed: boolean, metric: string])[] = [
  ['rate:', false, 'node_bcache_writeback_rate'],
  ['target:', false, 'node_bcache_dirty_target_bytes'],
  ['proportional:', true, 'node_bcache_writeback_rate_proportional_term'],
  ['integral:', true, 'node_bcache_writeback_rate_integral_term'],
  ['change:', true, 'node_bcache_writeback_change'],
]

const CACHE_VALUES: readonly (readonly [file: string, metric: string])[] = [
  ['io_errors', 'node_bcache_io_errors'],
  ['metadata_written', 'node_bcache_metadata_written_bytes_total'],
  ['written', 'node_bcache_written_bytes_total'],
]

const PRIORITY_STATS: readonly (readonly [label: string, metric: string])[] = [
  ['Unused:', 'node_bcache_priority_stats_unused_percent'],
  ['Metadata:', 'node_bcache_priority_stats_metadata_percent'],
]

function emitWritebackDebug(
  ctx: CollectorContext,
  path: string,
  labels: Record<string, string>,
  emit: EmitPoint,
): void {
  const text = readFile(ctx, path)
  if (text === undefined) return
  for (const line of text.split('\n')) {
    const entry = WRITEBACK_DEBUG.find(([label]) => line.startsWith(label))
    if (entry === undefined) continue
    const [, signed, metric] = entry
    const raw = tokenize(line).at(-1) ?? ''
    const value = dehumanize(raw.endsWith('/sec') ? raw.slice(0, -4) : raw, signed)
    if (value === undefined) ctx.problem(`${path}: not a bcache value: ${excerpt(line)}`)
    else emit(metric, labels, value)
  }
}

/** priority_stats: `Unused:  99%` and `Metadata:  0%` (the quantiles after them are not exported). */
function emitPriorityStats(
  ctx: CollectorContext,
  path: string,
  labels: Record<string, string>,
  emit: EmitPoint,
): void {
  const text = readFile(ctx, path)
  if (text === undefined) return
  for (const line of text.split('\n')) {
    const entry = PRIORITY_STATS.find(([label]) => line.startsWith(label))
    if (entry === undefined) continue
    const raw = tokenize(line).at(-1) ?? ''
    const percent = raw.endsWith('%') ? raw.slice(0, -1) : raw
    if (DIGITS.test(percent)) emit(entry[1], labels, Number(percent))
    else ctx.problem(`${path}: not a percentage: ${excerpt(line)}`)
  }
}

function entriesOf(ctx: CollectorContext, dir: string): string[] {
  try {
    return ctx.fs.readDir(dir)
  } catch (err) {
    // The cache set was unregistered since it was listed.
    if (!isAbsent(err)) ctx.problem(`${dir}: ${message(err)}`)
    return []
  }
}

function collectCacheSet(
  ctx: CollectorContext,
  dir: string,
  uuid: string,
  priorityStats: boolean,
  emit: EmitPoint,
): void {
  const setLabels = { uuid }
  for (const [file, metric, scale] of CACHE_SET_VALUES) {
    const value = readValue(ctx, join(dir, file))
    if (value !== undefined) emit(metric, setLabels, scale === undefined ? value : value * scale)
  }
  for (const entry of entriesOf(ctx, dir)) {
    if (BACKING_DEVICE.test(entry)) {
      const device = join(dir, entry)
      const labels = { uuid, backing_device: entry }
      const dirty = readValue(ctx, join(device, 'dirty_data'))
      if (dirty !== undefined) emit('node_bcache_dirty_data_bytes', labels, dirty)
      emitWritebackDebug(ctx, join(device, 'writeback_rate_debug'), labels, emit)
      for (const [file, metric] of BACKING_TOTALS) {
        const value = readValue(ctx, join(device, 'stats_total', file))
        if (value !== undefined) emit(metric, labels, value)
      }
      // node_exporter leaves readaheads out when zero: Linux 5.13 dropped the counter.
      const readaheads = readValue(ctx, join(device, 'stats_total', 'cache_readaheads'))
      if (readaheads !== undefined && readaheads !== 0)
        emit('node_bcache_cache_readaheads_total', labels, readaheads)
    } else if (CACHE_DEVICE.test(entry)) {
      const device = join(dir, entry)
      const labels = { uuid, cache_device: entry }
      for (const [file, metric] of CACHE_VALUES) {
        const value = readValue(ctx, join(device, file))
        if (value !== undefined) emit(metric, labels, value)
      }
      if (priorityStats) emitPriorityStats(ctx, join(device, 'priority_stats'), labels, emit)
    }
  }
}

/**
 * /sys/fs/bcache/<uuid>/*, as node_exporter's bcache collector: each cache set's btree and journal
 * state, its backing devices' dirty data, writeback controller and lifetime hit counters, its cache
 * devices' writes and errors; with priorityStats, each cache device's unused and metadata share.
 */
export const bcache: NodeCollector = {
  name: 'bcache',
  description: 'bcache cache sets, backing and cache devices (/sys/fs/bcache)',
  defaultEnabled: true,
  options: {
    priorityStats: { default: 'false', kind: 'flag', help: 'Expose expensive priority stats.' },
  },
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'fs/bcache')
    const priorityStats = ctx.options.priorityStats === 'true'
    return {
      collect: (emit) => {
        let names: string[]
        try {
          names = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const uuid of names) {
          const dir = join(root, uuid)
          if (CACHE_SET.test(uuid) && ctx.fs.isDir(dir)) collectCacheSet(ctx, dir, uuid, priorityStats, emit)
        }
      },
    }
  },
}
