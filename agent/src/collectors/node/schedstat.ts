import { excerpt, forEachLine } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/**
 * procfs's pattern, unanchored as Go's FindStringSubmatch is: `cpu<N>` and nine numbers, of which
 * the last three are the time spent running and waiting (ns) and the timeslices run.
 */
const CPU_LINE = /cpu(\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/
const UINT64_MAX = '18446744073709551615'
const NS_PER_SECOND = 1e9

/** Whether a string of digits fits Go's ParseUint(…, 10, 64). */
function fitsUint64(digits: string): boolean {
  const trimmed = digits.replace(/^0+(?=\d)/, '')
  return trimmed.length < UINT64_MAX.length || (trimmed.length === UINT64_MAX.length && trimmed <= UINT64_MAX)
}

/**
 * /proc/schedstat, as node_exporter's schedstat collector: per CPU, seconds running and waiting and
 * the timeslices run. The domain lines carry load-balancing detail node_exporter does not export.
 */
export const schedstat: NodeCollector = {
  name: 'schedstat',
  description: 'per-CPU scheduler time running, waiting and timeslices (/proc/schedstat)',
  defaultEnabled: true,
  open: (ctx) => {
    const path = join(ctx.paths.procfs, 'schedstat')
    return {
      collect: (emit) => {
        let text: string
        try {
          text = ctx.fs.readText(path)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        forEachLine(text, (start, end) => {
          const line = text.slice(start, end)
          const m = CPU_LINE.exec(line)
          if (m === null) {
            if (line.startsWith('cpu')) ctx.problem(`${path}: not a cpu line: ${excerpt(line)}`)
            return
          }
          const [, cpu = '', , , , , , , running = '', waiting = '', timeslices = ''] = m
          if (![running, waiting, timeslices].every(fitsUint64)) {
            ctx.problem(`${path}: counter out of range: ${excerpt(line)}`)
            return
          }
          // Number() rounds a decimal to the nearest double as Go's float64(uint64) does.
          emit('node_schedstat_running_seconds_total', { cpu }, Number(running) / NS_PER_SECOND)
          emit('node_schedstat_waiting_seconds_total', { cpu }, Number(waiting) / NS_PER_SECOND)
          emit('node_schedstat_timeslices_total', { cpu }, Number(timeslices))
        })
      },
    }
  },
}
