import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'
import { parseGoInt } from './netclass.ts'

/** Numeric attributes: file → metric name. */
const NUMERIC: readonly (readonly [file: string, metric: string])[] = [
  ['bootstatus', 'node_watchdog_bootstatus'],
  ['fw_version', 'node_watchdog_fw_version'],
  ['nowayout', 'node_watchdog_nowayout'],
  ['timeleft', 'node_watchdog_timeleft_seconds'],
  ['timeout', 'node_watchdog_timeout_seconds'],
  ['pretimeout', 'node_watchdog_pretimeout_seconds'],
  ['access_cs0', 'node_watchdog_access_cs0'],
]
/** Text attributes, the labels of node_watchdog_info ('' when the driver lacks one). */
const TEXT = ['options', 'identity', 'state', 'status', 'pretimeout_governor'] as const

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
}

/** One attribute, trimmed, or undefined when this watchdog's driver does not offer it. */
function readAttribute(ctx: CollectorContext, path: string): string | undefined {
  try {
    return ctx.fs.readText(path).trim()
  } catch (err) {
    if (!isAbsent(err)) ctx.problem(`${path}: ${err instanceof Error ? err.message : String(err)}`)
    return undefined
  }
}

/**
 * /sys/class/watchdog/<watchdog>/*, as node_exporter's watchdog collector: boot status, firmware
 * version, nowayout and the timeouts in seconds, with identity, state and options as
 * node_watchdog_info labels.
 */
export const watchdog: NodeCollector = {
  name: 'watchdog',
  description: 'watchdog devices: timeouts, time left, state (/sys/class/watchdog)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/watchdog')
    return {
      collect: (emit) => {
        let devices: string[]
        try {
          devices = ctx.fs.readDir(root)
        } catch (err) {
          // node_exporter reports no data when the class is missing or not readable.
          if (isAbsent(err) || errorCode(err) === 'EACCES' || errorCode(err) === 'EPERM') return 'absent'
          throw err
        }
        for (const name of devices) {
          const dir = join(root, name)
          if (!ctx.fs.isDir(dir)) continue
          for (const [file, metric] of NUMERIC) {
            const text = readAttribute(ctx, join(dir, file))
            if (text === undefined) continue
            const value = parseGoInt(text)
            if (value === undefined) ctx.problem(`${join(dir, file)}: not an integer: ${excerpt(text)}`)
            else emit(metric, { name }, value)
          }
          const info: Record<string, string> = { name }
          for (const file of TEXT) info[file] = readAttribute(ctx, join(dir, file)) ?? ''
          emit('node_watchdog_info', info, 1)
        }
      },
    }
  },
}
