import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { collectorOfMetric, nodeMetricInfo } from '#schemas/src/node-metrics/index.ts'
import { NodeFileReader } from './collector.ts'
import { hwmon } from './hwmon.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

interface Tree {
  /** Path under sys/ → content. */
  files?: Record<string, string>
  /** Path under sys/ → link target, as stored. */
  links?: Record<string, string>
}

/** A sys/ tree → `name{labels} value` per point (undefined when absent) and the problems. */
function run(
  tree: Tree,
  options: Record<string, string> = {},
): { series: string[] | undefined; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'hwmon-test-'))
  roots.push(root)
  for (const [path, text] of Object.entries(tree.files ?? {})) {
    mkdirSync(dirname(join(root, 'sys', path)), { recursive: true })
    writeFileSync(join(root, 'sys', path), text)
  }
  for (const [path, target] of Object.entries(tree.links ?? {})) {
    mkdirSync(dirname(join(root, 'sys', path)), { recursive: true })
    symlinkSync(target, join(root, 'sys', path))
  }
  const defaults = Object.fromEntries(Object.entries(hwmon.options ?? {}).map(([k, o]) => [k, o.default]))
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = hwmon.open({
      paths: {
        procfs: join(root, 'proc'),
        sysfs: join(root, 'sys'),
        rootfs: root,
        udevData: join(root, 'udev'),
      },
      options: { ...defaults, ...options },
      problem: (p) => problems.push(p),
      fs,
    })
    const result = reader.collect((name, labels, value) => {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      series.push(`${name}{${text}} ${String(value)}`)
    })
    return { series: result === 'absent' ? undefined : series.sort(), problems }
  } finally {
    fs.close()
  }
}

/** A chip in /sys/devices/platform/<device>/hwmon/<hwmon>, linked from /sys/class/hwmon. */
function chip(device: string, entry: string, files: Record<string, string>): Tree {
  const dir = `devices/platform/${device}/hwmon/${entry}`
  return {
    files: Object.fromEntries(Object.entries(files).map(([k, v]) => [`${dir}/${k}`, v])),
    links: {
      [`class/hwmon/${entry}`]: `../../${dir}`,
      [`${dir}/device`]: '../../../' + device,
    },
  }
}

function merge(...trees: Tree[]): Tree {
  return {
    files: Object.assign({}, ...trees.map((t) => t.files ?? {})) as Record<string, string>,
    links: Object.assign({}, ...trees.map((t) => t.links ?? {})) as Record<string, string>,
  }
}

describe('hwmon', () => {
  it('is absent, without a problem, when there is no /sys/class/hwmon', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('names a chip after its device, keeps the label text as read, and converts units', () => {
    const { series, problems } = run(
      chip('coretemp.0', 'hwmon0', {
        name: 'coretemp\n',
        temp1_input: '45000\n',
        temp1_label: 'Package id 0\n',
        in0_input: '1200\n',
        fan1_input: '900\n',
      }),
    )
    expect(problems).toEqual([])
    expect(series).toEqual([
      'node_hwmon_chip_names{chip=platform_coretemp_0,chip_name=coretemp} 1',
      'node_hwmon_fan_rpm{chip=platform_coretemp_0,sensor=fan1} 900',
      'node_hwmon_in_volts{chip=platform_coretemp_0,sensor=in0} 1.2',
      'node_hwmon_sensor_label{chip=platform_coretemp_0,sensor=temp1,label=Package id 0} 1',
      'node_hwmon_temp_celsius{chip=platform_coretemp_0,sensor=temp1} 45',
    ])
  })

  it('reports a value that is not a number, skips empty ones quietly, and sends the rest', () => {
    const { series, problems } = run({
      files: { 'class/hwmon/hwmon0/temp1_input': 'hot\n', 'class/hwmon/hwmon0/temp2_input': '30000\n' },
      links: {},
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/hwmon0: temp1_input is not a number: "hot"/)
    // No device link and no name file: the chip is named after its directory.
    expect(series).toEqual(['node_hwmon_temp_celsius{chip=hwmon0,sensor=temp2} 30'])
    expect(run({ files: { 'class/hwmon/hwmon0/fan1_safe': '' } }).problems).toEqual([])
  })

  it('tells apart chips of one device by their names, or by hwmonN when the names agree', () => {
    const byName = run(
      merge(
        chip('asus-nb-wmi', 'hwmon6', { name: 'asus\n', pwm1_enable: '2\n' }),
        chip('asus-nb-wmi', 'hwmon7', { name: 'asus_wmi_sensors\n', pwm1_enable: '2\n' }),
      ),
    )
    expect(byName.series?.filter((s) => s.startsWith('node_hwmon_pwm_enable'))).toEqual([
      'node_hwmon_pwm_enable{chip=platform_asus_nb_wmi_asus,sensor=pwm1} 2',
      'node_hwmon_pwm_enable{chip=platform_asus_nb_wmi_asus_wmi_sensors,sensor=pwm1} 2',
    ])
    const sameName = run(
      merge(
        chip('nvme.0', 'hwmon1', { name: 'nvme\n', temp1_input: '1000\n' }),
        chip('nvme.0', 'hwmon2', { name: 'nvme\n', temp1_input: '2000\n' }),
      ),
    )
    expect(sameName.series?.filter((s) => s.startsWith('node_hwmon_temp'))).toEqual([
      'node_hwmon_temp_celsius{chip=platform_nvme_0_hwmon1,sensor=temp1} 1',
      'node_hwmon_temp_celsius{chip=platform_nvme_0_hwmon2,sensor=temp1} 2',
    ])
  })

  it('filters chips by their final label and sensors as <chip>;<sensor>', () => {
    const tree = merge(
      chip('coretemp.0', 'hwmon0', { temp1_input: '1000\n', temp2_input: '2000\n' }),
      chip('it87.656', 'hwmon1', { temp1_input: '3000\n' }),
    )
    const sensors = (options: Record<string, string>): string[] => run(tree, options).series ?? []
    expect(sensors({ 'chip-include': 'coretemp' })).toEqual([
      'node_hwmon_temp_celsius{chip=platform_coretemp_0,sensor=temp1} 1',
      'node_hwmon_temp_celsius{chip=platform_coretemp_0,sensor=temp2} 2',
    ])
    expect(sensors({ 'sensor-exclude': 'platform_coretemp_0;temp1' })).toEqual([
      'node_hwmon_temp_celsius{chip=platform_coretemp_0,sensor=temp2} 2',
      'node_hwmon_temp_celsius{chip=platform_it87_656,sensor=temp1} 3',
    ])
  })

  it('names and describes every sensor kind as node_exporter does', () => {
    const { series, problems } = run({
      files: Object.fromEntries(
        Object.entries({
          beep_enable: '1',
          vrm: '9.1',
          update_interval: '2000',
          temp1: '41000',
          temp1_input: '42000',
          temp1_type: '3',
          curr1_input: '1500',
          power1_average: '12500000',
          power1_average_interval: '1000',
          power1_accuracy: '500000',
          energy1_input: '7000000',
          humidity1_input: '450000',
          fan1_min: '300',
          fan1_alarm: '0',
          fan1_beep: '1',
          fan1_div: '8',
          freq1_input: '1000000000',
          freq1_label: 'sclk',
          freq2_input: '5000000',
        }).map(([k, v]) => [`class/hwmon/hwmon0/${k}`, `${v}\n`]),
      ),
    })
    expect(problems).toEqual([])
    const value = (name: string): string | undefined =>
      series?.find((s) => s.startsWith(`${name}{`))?.split(' ')[1]
    expect(value('node_hwmon_beep_enabled')).toBe('1')
    expect(value('node_hwmon_voltage_regulator_version')).toBe('9.1')
    expect(value('node_hwmon_update_interval_seconds')).toBe('2')
    expect(value('node_hwmon_temp_celsius')).toBe('41')
    expect(value('node_hwmon_temp_input_celsius')).toBe('42')
    expect(value('node_hwmon_temp_type')).toBe('3')
    expect(value('node_hwmon_curr_amps')).toBe('1.5')
    expect(value('node_hwmon_power_average_watt')).toBe('12.5')
    expect(value('node_hwmon_power_average_interval_seconds')).toBe('1')
    expect(value('node_hwmon_power_accuracy')).toBe('0.5')
    expect(value('node_hwmon_energy_joule_total')).toBe('7')
    expect(value('node_hwmon_humidity')).toBe('0.45')
    expect(value('node_hwmon_fan_div')).toBe('8')
    // A clock without a label is not sent; with one, the label names the sensor.
    expect(series?.filter((s) => s.startsWith('node_hwmon_freq'))).toEqual([
      'node_hwmon_freq_freq_mhz{chip=hwmon0,sensor=sclk} 1000',
    ])

    const help = (name: string): string | undefined =>
      collectorOfMetric(name) === 'hwmon' ? nodeMetricInfo(name)?.help : undefined
    for (const line of series ?? []) expect(help(line.slice(0, line.indexOf('{'))), line).toBeDefined()
    expect(help('node_hwmon_temp_input_celsius')).toBe('Hardware monitor for temperature (input)')
    expect(help('node_hwmon_temp_type')).toBe('Hardware monitor temp element type')
    expect(help('node_hwmon_power_average_watt')).toBe('Hardware monitor for power usage in watts (average)')
    expect(help('node_hwmon_power_average_interval_seconds')).toBe(
      'Hardware monitor power usage update interval (average_interval)',
    )
    expect(nodeMetricInfo('node_hwmon_energy_joule_total')).toEqual({
      name: 'node_hwmon_energy_joule_total',
      help: 'Hardware monitor for joules used so far (input)',
      type: 'counter',
    })
    expect(help('node_hwmon_fan_alarm')).toBe('Hardware sensor alarm status (fan)')
    expect(help('node_hwmon_fan_beep_enabled')).toBe('Hardware monitor sensor has beeping enabled')
    expect(help('node_hwmon_fan_min_rpm')).toBe('Hardware monitor for fan revolutions per minute (min)')
    expect(help('node_hwmon_fan_div')).toBe('Hardware monitor fan element div')
  })
})
