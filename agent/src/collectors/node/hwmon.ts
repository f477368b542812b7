import { basename, dirname, resolve } from 'node:path'
import { excerpt } from '../parse-util.ts'
import {
  deviceFilter,
  isAbsent,
  join,
  type CollectorContext,
  type FileReader,
  type NodeCollector,
} from './collector.ts'

/** `<type><number>_<property>` of a sensor attribute file, as node_exporter splits it (greedy type). */
const SENSOR_FILE = /^(?<type>[^0-9]+)(?<id>[0-9]*)?(?:_(?<property>.+))?$/
/** The sensor types node_exporter reads; any other file (name, uevent, power/) is not a sensor. */
const SENSOR_TYPES = new Set([
  'vrm',
  'beep_enable',
  'update_interval',
  'in',
  'cpu',
  'fan',
  'pwm',
  'temp',
  'curr',
  'power',
  'energy',
  'humidity',
  'intrusion',
  'freq',
])
const INVALID_NAME_CHARS = /[^a-z0-9:_]/g
const INT_MAX = 2n ** 63n - 1n
/** strconv.ParseFloat's decimal syntax (the kernel prints no hex floats or digit separators). */
const GO_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const GO_SPECIAL_FLOAT = /^(?:[+-]?inf(?:inity)?|nan)$/i
/** Linux's MAXSYMLINKS: a loop of links fails the walk instead of spinning. */
const MAX_LINK_HOPS = 40

/** node_exporter's cleanMetricName: lower case, anything but [a-z0-9:_] to `_`, `_` trimmed at both ends. */
function cleanName(text: string): string {
  return text
    .toLowerCase()
    .replace(INVALID_NAME_CHARS, '_')
    .replace(/^_+|_+$/g, '')
}

/** strconv.ParseFloat, or undefined; out-of-range literals fail as in Go instead of becoming ±Inf. */
function parseGoFloat(text: string): number | undefined {
  if (GO_SPECIAL_FLOAT.test(text))
    return /nan/i.test(text) ? NaN : text.startsWith('-') ? -Infinity : Infinity
  if (!GO_FLOAT.test(text)) return undefined
  const value = Number(text)
  return Number.isFinite(value) ? value : undefined
}

/** A sensor file name → its sensor key (`temp1`, `beep_enable0`) and property, or undefined for non-sensors. */
function splitSensorFile(file: string): { sensor: string; type: string; property: string } | undefined {
  const m = SENSOR_FILE.exec(file)
  const type = m?.groups?.type
  if (type === undefined || !SENSOR_TYPES.has(type)) return undefined
  const id = m?.groups?.id ?? ''
  // Go's strconv.Atoi: numbers past int64 are not sensors; `temp01` and `temp1` are the same one.
  const number = id === '' ? 0n : BigInt(id)
  if (number > INT_MAX) return undefined
  return { sensor: `${type}${number.toString()}`, type, property: m?.groups?.property ?? '' }
}

/**
 * filepath.EvalSymlinks through the collector's file reader: every link on the way resolved, or
 * undefined when a part of the path does not exist.
 */
function realPath(fs: FileReader, path: string): string | undefined {
  let resolved = '/'
  const pending = resolve(path)
    .split('/')
    .filter((part) => part !== '')
  let hops = 0
  for (let part = pending.shift(); part !== undefined; part = pending.shift()) {
    if (part === '.') continue
    if (part === '..') {
      resolved = dirname(resolved)
      continue
    }
    const next = join(resolved, part)
    let target: string
    try {
      target = fs.readLink(next)
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
      // EINVAL: an existing file or directory that is not a link.
      if (code !== 'EINVAL') return undefined
      resolved = next
      continue
    }
    if (++hops > MAX_LINK_HOPS) return undefined
    if (target.startsWith('/')) resolved = '/'
    pending.unshift(...target.split('/').filter((p) => p !== ''))
  }
  return resolved
}

function readOptional(fs: FileReader, path: string): string | undefined {
  try {
    return fs.readText(path)
  } catch {
    return undefined
  }
}

interface Chip {
  /** The entry in /sys/class/hwmon (`hwmon3`). */
  entry: string
  dir: string
  /** The chip label before disambiguation: from the device link, else the name file, else the entry. */
  base: string
  /** The cleaned name file, '' without one. */
  name: string
}

/**
 * node_exporter's hwmonName: `<bus>_<device>` from the resolved `device` link (stable across
 * module load order, unlike hwmonN), else the cleaned name file, else the resolved directory's name.
 */
function baseChipName(fs: FileReader, dir: string, name: string): string | undefined {
  const device = realPath(fs, join(dir, 'device'))
  if (device !== undefined) {
    const deviceName = cleanName(basename(device))
    const bus = cleanName(basename(dirname(device)))
    if (bus !== '' && deviceName !== '') return `${bus}_${deviceName}`
    if (deviceName !== '') return deviceName
  }
  if (name !== '') return name
  const real = realPath(fs, dir)
  const fallback = real === undefined ? '' : cleanName(basename(real))
  return fallback === '' ? undefined : fallback
}

/**
 * Chip labels for every chip, made unique as node_exporter 1.12 does (PR #3646): chips sharing a
 * base label (several hwmon nodes of one device, such as asus-nb-wmi or a multi-radio phy) get
 * `_<name>` when their name files tell them apart, else `_<hwmonN>`.
 */
function chipLabels(chips: readonly Chip[]): Map<Chip, string> {
  const groups = new Map<string, Chip[]>()
  for (const chip of chips) {
    const group = groups.get(chip.base)
    if (group === undefined) groups.set(chip.base, [chip])
    else group.push(chip)
  }
  const labels = new Map<Chip, string>()
  for (const [base, group] of groups) {
    if (group.length === 1) {
      for (const chip of group) labels.set(chip, base)
      continue
    }
    const nameCounts = new Map<string, number>()
    for (const chip of group) nameCounts.set(chip.name, (nameCounts.get(chip.name) ?? 0) + 1)
    for (const chip of group) {
      const suffix = chip.name !== '' && nameCounts.get(chip.name) === 1 ? chip.name : cleanName(chip.entry)
      labels.set(chip, `${base}_${suffix}`)
    }
  }
  return labels
}

type SensorData = Map<string, Map<string, string>>

/**
 * `<type><n>_<property>` files of one directory into sensor → property → value (newlines trimmed).
 * Attributes the driver cannot read right now (EIO, EAGAIN, ENODATA from a sensor that is not wired)
 * and directories are skipped, as node_exporter skips them.
 */
function readSensors(fs: FileReader, dir: string, data: SensorData): void {
  for (const file of fs.readDir(dir)) {
    const split = splitSensorFile(file)
    if (split === undefined) continue
    const raw = readOptional(fs, join(dir, file))
    if (raw === undefined) continue
    let properties = data.get(split.sensor)
    if (properties === undefined) {
      properties = new Map()
      data.set(split.sensor, properties)
    }
    properties.set(split.property, raw.replace(/^\n+|\n+$/g, ''))
  }
}

interface Reading {
  name: string
  value: number
}

/**
 * node_exporter's naming and units for one sensor element (hwmon_linux.go): alarms and beeps as
 * they are, in/cpu/temp/curr from milli-units, power/energy/humidity/freq from micro-units, fan
 * speeds in rpm, everything else as read.
 */
function reading(type: string, element: string, hasBare: boolean, value: number): Reading {
  let name = `node_hwmon_${type}`
  if (element === 'input') {
    // `temp1` and `temp1_input` both present: the bare file is the value, input gets its own name.
    if (hasBare) name += '_input'
  } else if (element !== '') {
    name += `_${cleanName(element)}`
  }
  if (element === 'fault' || element === 'alarm') return { name, value }
  if (element === 'beep') return { name: `${name}_enabled`, value }
  if (type === 'in' || type === 'cpu') return { name: `${name}_volts`, value: value * 0.001 }
  if (type === 'temp' && element !== 'type') return { name: `${name}_celsius`, value: value * 0.001 }
  if (type === 'curr') return { name: `${name}_amps`, value: value * 0.001 }
  if (type === 'energy') return { name: `${name}_joule_total`, value: value / 1000000.0 }
  if (type === 'power' && element === 'accuracy') return { name, value: value / 1000000.0 }
  if (type === 'power' && /^average_interval(?:_min|_max)?$/.test(element))
    return { name: `${name}_seconds`, value: value * 0.001 }
  if (type === 'power') return { name: `${name}_watt`, value: value / 1000000.0 }
  if (type === 'humidity') return { name, value: value / 1000000.0 }
  if (type === 'fan' && ['input', 'min', 'max', 'target'].includes(element))
    return { name: `${name}_rpm`, value }
  if (type === 'freq' && element === 'input') return { name: `${name}_freq_mhz`, value: value / 1000000.0 }
  return { name, value }
}

type Emit = (name: string, labels: Record<string, string>, value: number) => void

function emitSensor(
  ctx: CollectorContext,
  emit: Emit,
  chip: string,
  sensor: string,
  properties: Map<string, string>,
  chipDir: string,
): void {
  const type = SENSOR_FILE.exec(sensor)?.groups?.type ?? ''
  // A fresh object per point: the receiver keeps the labels it is given.
  const labels = (): Record<string, string> => ({ chip, sensor })
  const label = properties.get('label')
  if (label !== undefined) emit('node_hwmon_sensor_label', { chip, sensor, label }, 1)

  const bare = properties.get('')
  if (type === 'beep_enable') {
    emit('node_hwmon_beep_enabled', labels(), bare === '1' ? 1 : 0)
    return
  }
  if (type === 'vrm' || type === 'update_interval') {
    const value = bare === undefined ? undefined : parseGoFloat(bare)
    if (value === undefined) return
    if (type === 'vrm') emit('node_hwmon_voltage_regulator_version', labels(), value)
    else emit('node_hwmon_update_interval_seconds', labels(), value * 0.001)
    return
  }
  for (const [element, text] of properties) {
    if (element === 'label') continue
    const value = parseGoFloat(text)
    if (value === undefined) {
      // An empty attribute is a sensor the driver leaves unset (applesmc's fanN_safe), not garbage.
      if (text !== '') {
        const file = element === '' ? sensor : `${sensor}_${element}`
        ctx.problem(`${chipDir}: ${file} is not a number: ${excerpt(text)}`)
      }
      continue
    }
    const out = reading(type, element, bare !== undefined, value)
    // A GPU clock is named by its label (sclk, mclk) in the sensor label; without one it is not sent.
    if (type === 'freq' && element === 'input') {
      if (label !== undefined) emit(out.name, { chip, sensor: cleanName(label) }, out.value)
      continue
    }
    emit(out.name, labels(), out.value)
  }
}

/**
 * /sys/class/hwmon/hwmonN (and each one's `device` directory), as node_exporter's hwmon collector:
 * every temperature, voltage, current, power, energy, humidity, fan, pwm, intrusion and GPU clock
 * sensor, per chip, with the chip's human-readable name and the sensors' labels as info series.
 */
export const hwmon: NodeCollector = {
  name: 'hwmon',
  description: 'hardware sensors: temperatures, voltages, fans, power (/sys/class/hwmon)',
  defaultEnabled: true,
  options: {
    'chip-include': {
      default: '',
      help: 'Regexp of hwmon chip to include (mutually exclusive to device-exclude).',
    },
    'chip-exclude': {
      default: '',
      help: 'Regexp of hwmon chip to exclude (mutually exclusive to device-include).',
    },
    'sensor-include': {
      default: '',
      help: 'Regexp of hwmon sensor to include (mutually exclusive to sensor-exclude).',
    },
    'sensor-exclude': {
      default: '',
      help: 'Regexp of hwmon sensor to exclude (mutually exclusive to sensor-include).',
    },
  },
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/hwmon')
    // node_exporter applies both patterns when both are set: excluded, or not included, is dropped.
    const both = (include: string, exclude: string): ((name: string) => boolean) => {
      const included = deviceFilter(include, '')
      const notExcluded = deviceFilter('', exclude)
      return (name) => included(name) && notExcluded(name)
    }
    const keepChip = both(ctx.options['chip-include'] ?? '', ctx.options['chip-exclude'] ?? '')
    // Sensors are filtered as `<chip>;<sensor>`, so one sensor of one chip can be named.
    const keepSensor = both(ctx.options['sensor-include'] ?? '', ctx.options['sensor-exclude'] ?? '')
    return {
      collect: (emit) => {
        let entries: string[]
        try {
          entries = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        const chips: Chip[] = []
        for (const entry of entries) {
          const dir = join(root, entry)
          if (!ctx.fs.isDir(dir)) continue
          const rawName = readOptional(ctx.fs, join(dir, 'name'))
          const name = rawName === undefined ? '' : cleanName(rawName)
          const base = baseChipName(ctx.fs, dir, name)
          if (base === undefined) ctx.problem(`${dir}: could not derive a monitoring name`)
          else chips.push({ entry, dir, base, name })
        }
        for (const [chip, label] of chipLabels(chips)) {
          if (!keepChip(label)) continue
          const data: SensorData = new Map()
          try {
            readSensors(ctx.fs, chip.dir, data)
            const device = join(chip.dir, 'device')
            if (ctx.fs.exists(device)) readSensors(ctx.fs, device, data)
          } catch (err) {
            ctx.problem(`${chip.dir}: ${err instanceof Error ? err.message : String(err)}`)
            continue
          }
          if (chip.name !== '') emit('node_hwmon_chip_names', { chip: label, chip_name: chip.name }, 1)
          for (const [sensor, properties] of data) {
            if (keepSensor(`${label};${sensor}`)) emitSensor(ctx, emit, label, sensor, properties, chip.dir)
          }
        }
      },
    }
  },
}
