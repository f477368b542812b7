import { excerpt, tokenize } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/** Columns every kernel since 2.6.23 prints; later ones were added at the end. */
const MIN_COLUMNS = 9
const HEX32 = /^[0-9a-fA-F]{1,8}$/

/**
 * /proc/net/softnet_stat: one line per CPU of hex counters, as node_exporter's softnet collector
 * (procfs's parser): processed, dropped, time_squeeze and cpu_collision from the 9 columns of every
 * kernel, received_rps from the 10th, flow_limit_count from the 11th, backlog length and the CPU
 * number from the 12th and 13th (Linux 5.10); before that the CPU is the line's position.
 */
export const softnet: NodeCollector = {
  name: 'softnet',
  description: 'packets processed, dropped and squeezed per CPU (/proc/net/softnet_stat)',
  defaultEnabled: true,
  open: (ctx) => {
    const path = join(ctx.paths.procfs, 'net/softnet_stat')
    return {
      collect: (emit) => {
        let text: string
        try {
          text = ctx.fs.readText(path)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        let line = 0
        for (const raw of text.split('\n')) {
          const tokens = tokenize(raw)
          if (tokens.length === 0) continue
          const position = line++
          // Columns a later kernel may add past the 13th are neither read nor checked, as in procfs.
          const columns = tokens.slice(0, 13)
          if (columns.length < MIN_COLUMNS || !columns.every((t) => HEX32.test(t))) {
            ctx.problem(`${path}: expected at least ${MIN_COLUMNS} hex counters, got ${excerpt(raw)}`)
            continue
          }
          const at = (i: number): number => (i < columns.length ? Number.parseInt(columns[i] ?? '', 16) : 0)
          const wide = columns.length >= 13
          const labels = (): Record<string, string> => ({ cpu: String(wide ? at(12) : position) })
          emit('node_softnet_processed_total', labels(), at(0))
          emit('node_softnet_dropped_total', labels(), at(1))
          emit('node_softnet_times_squeezed_total', labels(), at(2))
          emit('node_softnet_cpu_collision_total', labels(), at(8))
          emit('node_softnet_received_rps_total', labels(), at(9))
          emit('node_softnet_flow_limit_count_total', labels(), at(10))
          emit('node_softnet_backlog_len', labels(), wide ? at(11) : 0)
        }
      },
    }
  },
}
