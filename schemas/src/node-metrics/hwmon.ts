import type { MetricFamilyInfo } from '../metric-model.ts'
import type { MetricCatalogue } from './index.ts'

const PREFIX = 'node_hwmon_'
/**
 * Sensor types whose names are built from the input, longest first so `intrusion` is not read as
 * `in` (vrm, beep_enable and update_interval have fixed names).
 */
const TYPES = ['intrusion', 'humidity', 'energy', 'power', 'curr', 'temp', 'freq', 'fan', 'pwm', 'cpu', 'in']
const AVERAGE_INTERVAL = /^average_interval(?:_min|_max)?$/

/** `<element>_<unit>` or `<unit>` alone → the element (the bare name is the `input` reading), else undefined. */
function elementBefore(rest: string, unit: string): string | undefined {
  if (rest === unit) return 'input'
  return rest.endsWith(`_${unit}`) ? rest.slice(0, -unit.length - 1) : undefined
}

/**
 * HELP and TYPE of node_hwmon_<type>[_<element>][_<unit>], by the rules hwmon_linux.go names them
 * with: the element and its unit decide the text, a bare name is the sensor's input.
 */
function sensorInfo(name: string): MetricFamilyInfo | undefined {
  if (!name.startsWith(PREFIX)) return undefined
  const rest = name.slice(PREFIX.length)
  const type = TYPES.find((t) => rest === t || rest.startsWith(`${t}_`))
  if (type === undefined) return undefined
  const tail = rest.slice(type.length + 1)
  const gauge = (help: string): MetricFamilyInfo => ({ name, help, type: 'gauge' })

  if (tail === 'alarm' || tail === 'fault') return gauge(`Hardware sensor ${tail} status (${type})`)
  if (tail === 'beep_enabled') return gauge('Hardware monitor sensor has beeping enabled')
  const withUnit = (unit: string, help: (element: string) => string): MetricFamilyInfo | undefined => {
    const element = elementBefore(tail, unit)
    return element === undefined ? undefined : gauge(help(element))
  }
  let info: MetricFamilyInfo | undefined
  switch (type) {
    case 'in':
    case 'cpu':
      info = withUnit('volts', (e) => `Hardware monitor for voltage (${e})`)
      break
    case 'temp':
      info = withUnit('celsius', (e) => `Hardware monitor for temperature (${e})`)
      break
    case 'curr':
      info = withUnit('amps', (e) => `Hardware monitor for current (${e})`)
      break
    case 'energy': {
      const element = elementBefore(tail, 'joule_total')
      if (element !== undefined)
        return { name, help: `Hardware monitor for joules used so far (${element})`, type: 'counter' }
      break
    }
    case 'power': {
      if (tail === 'accuracy') return gauge('Hardware monitor power meter accuracy, as a ratio')
      const interval = elementBefore(tail, 'seconds')
      if (interval !== undefined && AVERAGE_INTERVAL.test(interval))
        return gauge(`Hardware monitor power usage update interval (${interval})`)
      info = withUnit('watt', (e) => `Hardware monitor for power usage in watts (${e})`)
      break
    }
    case 'humidity':
      return gauge(
        `Hardware monitor for humidity, as a ratio (multiply with 100.0 to get the humidity as a percentage) (${tail === '' ? 'input' : tail})`,
      )
    case 'fan': {
      const element = elementBefore(tail, 'rpm')
      if (element !== undefined && ['input', 'min', 'max', 'target'].includes(element))
        return gauge(`Hardware monitor for fan revolutions per minute (${element})`)
      break
    }
    case 'freq':
      if (elementBefore(tail, 'freq_mhz') !== undefined)
        return gauge('Hardware monitor for GPU frequency in MHz')
      break
  }
  // Everything else is dumped as read: pwm settings, fan pulses and modes, a temperature's type.
  return info ?? gauge(`Hardware monitor ${type} element ${tail}`)
}

/** node_exporter collector/hwmon_linux.go. */
export const HWMON: MetricCatalogue = {
  collector: 'hwmon',
  minDefaultIntervalMs: 10_000,
  metrics: [
    { name: 'node_hwmon_chip_names', help: 'Annotation metric for human-readable chip names', type: 'gauge' },
    { name: 'node_hwmon_sensor_label', help: 'Label for given chip and sensor', type: 'gauge' },
    { name: 'node_hwmon_beep_enabled', help: 'Hardware beep enabled', type: 'gauge' },
    { name: 'node_hwmon_voltage_regulator_version', help: 'Hardware voltage regulator', type: 'gauge' },
    { name: 'node_hwmon_update_interval_seconds', help: 'Hardware monitor update interval', type: 'gauge' },
  ],
  dynamic: sensorInfo,
}
