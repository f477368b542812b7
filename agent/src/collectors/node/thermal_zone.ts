import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/** filepath.Glob's `thermal_zone[0-9]*` and `cooling_device[0-9]*`: the prefix, then a digit. */
const ZONE = /^thermal_zone\d/
const COOLING_DEVICE = /^cooling_device\d/
const DECIMAL_INT = /^[+-]?\d+$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** strconv.ParseInt(text, 10, 64), or undefined. */
function parseInt64(text: string): number | undefined {
  if (!DECIMAL_INT.test(text)) return undefined
  const value = BigInt(text)
  return value < INT64_MIN || value > INT64_MAX ? undefined : Number(value)
}

/**
 * The attributes of one zone or cooling device, trimmed, or undefined when one cannot be read:
 * procfs skips such a device (a zone whose sensor is off answers EAGAIN, ENODATA or EINVAL).
 */
function readAll(ctx: CollectorContext, dir: string, files: readonly string[]): string[] | undefined {
  const values: string[] = []
  for (const file of files) {
    try {
      values.push(ctx.fs.readText(join(dir, file)).trim())
    } catch {
      return undefined
    }
  }
  return values
}

/**
 * /sys/class/thermal, as node_exporter's thermal_zone collector: each thermal zone's temperature
 * (millidegrees → °C) and each cooling device's current and maximum throttle state.
 */
export const thermalZone: NodeCollector = {
  name: 'thermal_zone',
  description: 'thermal zone temperatures and cooling device states (/sys/class/thermal)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/thermal')
    return {
      collect: (emit) => {
        let entries: string[]
        try {
          entries = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const entry of entries.filter((e) => ZONE.test(e))) {
          const dir = join(root, entry)
          // procfs requires policy too, so a zone without one is skipped as node_exporter skips it.
          const values = readAll(ctx, dir, ['type', 'policy', 'temp'])
          if (values === undefined) continue
          const [type = '', , tempText = ''] = values
          const temp = parseInt64(tempText)
          if (temp === undefined) {
            ctx.problem(`${join(dir, 'temp')}: not an integer: ${excerpt(tempText)}`)
            continue
          }
          emit('node_thermal_zone_temp', { zone: entry.slice('thermal_zone'.length), type }, temp / 1000.0)
        }
        for (const entry of entries.filter((e) => COOLING_DEVICE.test(e))) {
          const dir = join(root, entry)
          const values = readAll(ctx, dir, ['type', 'max_state', 'cur_state'])
          if (values === undefined) continue
          const [type = '', maxText = '', curText = ''] = values
          const max = parseInt64(maxText)
          // cur_state is -1 for some devices (intel_powerclamp while idle).
          const cur = parseInt64(curText)
          if (max === undefined || cur === undefined) {
            const [file, text] = max === undefined ? ['max_state', maxText] : ['cur_state', curText]
            ctx.problem(`${join(dir, file)}: not an integer: ${excerpt(text)}`)
            continue
          }
          const labels = { name: entry.slice('cooling_device'.length), type }
          emit('node_cooling_device_cur_state', labels, cur)
          emit('node_cooling_device_max_state', { ...labels }, max)
        }
      },
    }
  },
}
