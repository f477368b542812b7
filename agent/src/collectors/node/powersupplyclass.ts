import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'
import { parseGoInt } from './netclass.ts'

/**
 * The numeric attributes node_exporter exports, by the divisor that brings them to its unit: counts
 * and seconds as they are, µA/µV/µW/µWh/µAh to A/V/W/Wh/Ah, tenths of a degree to °C.
 */
const NUMERIC: readonly (readonly [file: string, metric: string, divisor: number])[] = [
  ['authentic', 'authentic', 1],
  ['calibrate', 'calibrate', 1],
  ['capacity', 'capacity', 1],
  ['capacity_alert_max', 'capacity_alert_max', 1],
  ['capacity_alert_min', 'capacity_alert_min', 1],
  ['cycle_count', 'cyclecount', 1],
  ['online', 'online', 1],
  ['present', 'present', 1],
  ['time_to_empty_now', 'time_to_empty_seconds', 1],
  ['time_to_full_now', 'time_to_full_seconds', 1],
  ['current_boot', 'current_boot', 1e6],
  ['current_max', 'current_max', 1e6],
  ['current_now', 'current_ampere', 1e6],
  ['energy_empty', 'energy_empty', 1e6],
  ['energy_empty_design', 'energy_empty_design', 1e6],
  ['energy_full', 'energy_full', 1e6],
  ['energy_full_design', 'energy_full_design', 1e6],
  ['energy_now', 'energy_watthour', 1e6],
  ['voltage_boot', 'voltage_boot', 1e6],
  ['voltage_max', 'voltage_max', 1e6],
  ['voltage_max_design', 'voltage_max_design', 1e6],
  ['voltage_min', 'voltage_min', 1e6],
  ['voltage_min_design', 'voltage_min_design', 1e6],
  ['voltage_now', 'voltage_volt', 1e6],
  ['voltage_ocv', 'voltage_ocv', 1e6],
  ['charge_control_limit', 'charge_control_limit', 1e6],
  ['charge_control_limit_max', 'charge_control_limit_max', 1e6],
  ['charge_counter', 'charge_counter', 1e6],
  ['charge_empty', 'charge_empty', 1e6],
  ['charge_empty_design', 'charge_empty_design', 1e6],
  ['charge_full', 'charge_full', 1e6],
  ['charge_full_design', 'charge_full_design', 1e6],
  ['charge_now', 'charge_ampere', 1e6],
  ['charge_term_current', 'charge_term_current', 1e6],
  ['constant_charge_current', 'constant_charge_current', 1e6],
  ['constant_charge_current_max', 'constant_charge_current_max', 1e6],
  ['constant_charge_voltage', 'constant_charge_voltage', 1e6],
  ['constant_charge_voltage_max', 'constant_charge_voltage_max', 1e6],
  ['precharge_current', 'precharge_current', 1e6],
  ['input_current_limit', 'input_current_limit', 1e6],
  ['power_now', 'power_watt', 1e6],
  ['temp', 'temp_celsius', 10],
  ['temp_alert_max', 'temp_alert_max_celsius', 10],
  ['temp_alert_min', 'temp_alert_min_celsius', 10],
  ['temp_ambient', 'temp_ambient_celsius', 10],
  ['temp_ambient_max', 'temp_ambient_max_celsius', 10],
  ['temp_ambient_min', 'temp_ambient_min_celsius', 10],
  ['temp_max', 'temp_max_celsius', 10],
  ['temp_min', 'temp_min_celsius', 10],
]
const NUMERIC_BY_FILE = new Map(NUMERIC.map(([file, metric, divisor]) => [file, { metric, divisor }]))

/** The text attributes node_exporter puts on node_power_supply_info when they are not empty. */
const TEXT = new Set([
  'capacity_level',
  'charge_type',
  'health',
  'manufacturer',
  'model_name',
  'serial_number',
  'status',
  'technology',
  'type',
  'usb_type',
  'scope',
])

/**
 * Attributes a supply does not offer right now: missing, unsupported, or refused by the driver
 * (batteries answer ENODATA or EAGAIN for values they cannot measure at the moment).
 */
function unavailable(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
  return isAbsent(err) || ['EINVAL', 'ENODATA', 'EAGAIN', 'EACCES', 'EPERM', 'EISDIR'].includes(code)
}

function collectSupply(
  ctx: CollectorContext,
  emit: (name: string, labels: Record<string, string>, value: number) => void,
  supply: string,
  dir: string,
): void {
  let files: string[]
  try {
    files = ctx.fs.readDir(dir)
  } catch (err) {
    // The supply was unplugged between the two listings.
    if (!isAbsent(err)) ctx.problem(`${dir}: ${err instanceof Error ? err.message : String(err)}`)
    return
  }
  const info: Record<string, string> = { power_supply: supply }
  for (const file of files) {
    const numeric = NUMERIC_BY_FILE.get(file)
    if (numeric === undefined && !TEXT.has(file)) continue
    const path = join(dir, file)
    let value: string
    try {
      value = ctx.fs.readText(path).trim()
    } catch (err) {
      if (!unavailable(err)) ctx.problem(`${path}: ${err instanceof Error ? err.message : String(err)}`)
      continue
    }
    if (numeric === undefined) {
      if (value !== '') info[file] = value
      continue
    }
    const number = parseGoInt(value)
    if (number === undefined) ctx.problem(`${path}: not an integer: ${excerpt(value)}`)
    else emit(`node_power_supply_${numeric.metric}`, { power_supply: supply }, number / numeric.divisor)
  }
  emit('node_power_supply_info', info, 1)
}

/**
 * /sys/class/power_supply/<supply>/*, as node_exporter's powersupplyclass collector: charge, energy,
 * voltage, current, power and temperature in base units, and the supply's text attributes (type,
 * status, model, …) as node_power_supply_info labels.
 */
export const powersupplyclass: NodeCollector = {
  name: 'powersupplyclass',
  description: 'batteries and mains adapters: charge, energy, voltage, status (/sys/class/power_supply)',
  defaultEnabled: true,
  options: {
    'ignored-supplies': {
      default: '^$',
      help: 'Regexp of power supplies to ignore for powersupplyclass collector.',
    },
  },
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/power_supply')
    const ignored = new RegExp(ctx.options['ignored-supplies'] ?? '^$')
    return {
      collect: (emit) => {
        let supplies: string[]
        try {
          supplies = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const supply of supplies) {
          if (ignored.test(supply)) continue
          const dir = join(root, supply)
          if (ctx.fs.isDir(dir)) collectSupply(ctx, emit, supply, dir)
        }
      },
    }
  },
}
