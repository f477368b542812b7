import { excerpt, parseInteger, tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/** A per-CPU counter as the kernel prints it (%08x of an unsigned int). */
const HEX = /^[0-9a-fA-F]{1,13}$/

/** Columns of /proc/net/stat/nf_conntrack summed over CPUs, and the names they are sent as. */
const STAT_COLUMNS: readonly [number, string][] = [
  [2, 'node_nf_conntrack_stat_found'],
  [4, 'node_nf_conntrack_stat_invalid'],
  [5, 'node_nf_conntrack_stat_ignore'],
  [8, 'node_nf_conntrack_stat_insert'],
  [9, 'node_nf_conntrack_stat_insert_failed'],
  [10, 'node_nf_conntrack_stat_drop'],
  [11, 'node_nf_conntrack_stat_early_drop'],
  // Linux < 2.6.35 prints 16 columns, without search_restart: it stays 0 there.
  [16, 'node_nf_conntrack_stat_search_restart'],
]

/**
 * Connection tracking, as node_exporter's conntrack collector: the table's size and limit
 * (/proc/sys/net/netfilter/nf_conntrack_count and _max; absent when the module is not loaded) and
 * the per-CPU statistics of /proc/net/stat/nf_conntrack summed.
 */
export const conntrack: NodeCollector = {
  name: 'conntrack',
  description: 'connection tracking table size and statistics (/proc/sys/net/netfilter, /proc/net/stat)',
  defaultEnabled: true,
  open: (ctx) => {
    const countPath = join(ctx.paths.procfs, 'sys/net/netfilter/nf_conntrack_count')
    const maxPath = join(ctx.paths.procfs, 'sys/net/netfilter/nf_conntrack_max')
    const statPath = join(ctx.paths.procfs, 'net/stat/nf_conntrack')
    return {
      collect: (emit) => {
        const count = readNumber(ctx, countPath)
        if (count === 'absent') return 'absent'
        if (count !== undefined) emit('node_nf_conntrack_entries', {}, count)
        const max = readNumber(ctx, maxPath)
        if (typeof max === 'number') emit('node_nf_conntrack_entries_limit', {}, max)
        const stat = readOptional(ctx, statPath)
        if (stat === undefined) return
        const sums = STAT_COLUMNS.map(() => 0)
        // The first line names the columns.
        for (const line of stat.split('\n').slice(1)) {
          const fields = tokenize(line)
          if (fields.length === 0) continue
          if ((fields.length !== 16 && fields.length !== 17) || !fields.every((f) => HEX.test(f))) {
            ctx.problem(`${statPath}: expected 16 or 17 hex counters, got ${excerpt(line)}`)
            continue
          }
          STAT_COLUMNS.forEach(([column], i) => {
            const field = fields[column]
            if (field !== undefined) sums[i] = (sums[i] ?? 0) + Number.parseInt(field, 16)
          })
        }
        STAT_COLUMNS.forEach(([, name], i) => {
          emit(name, {}, sums[i] ?? 0)
        })
      },
    }
  },
}

/** The file's text, or undefined when the conntrack module (or this part of it) is not there. */
function readOptional(ctx: CollectorContext, path: string): string | undefined {
  try {
    return ctx.fs.readText(path)
  } catch (err) {
    if (isAbsent(err)) return undefined
    throw err
  }
}

/** A file holding one unsigned decimal number; undefined (reported) when it holds something else. */
function readNumber(ctx: CollectorContext, path: string): number | undefined | 'absent' {
  const text = readOptional(ctx, path)
  if (text === undefined) return 'absent'
  const value = parseInteger(text.trim())
  if (value !== undefined && value >= 0) return value
  ctx.problem(`${path}: expected a number, got ${excerpt(text.trim())}`)
  return undefined
}
