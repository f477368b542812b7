import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { powersupplyclass } from './powersupplyclass.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** The files under sys/class/power_supply → `name{labels} value` per point (undefined when absent) and the problems. */
function run(
  files: Record<string, string>,
  options: Record<string, string> = {},
): { series: string[] | undefined; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'powersupplyclass-test-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'sys/class/power_supply', path)), { recursive: true })
    writeFileSync(join(root, 'sys/class/power_supply', path), text)
  }
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = powersupplyclass.open({
      paths: {
        procfs: join(root, 'proc'),
        sysfs: join(root, 'sys'),
        rootfs: root,
        udevData: join(root, 'udev'),
      },
      options: { 'ignored-supplies': '^$', ...options },
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

const BATTERY = {
  'BAT0/type': 'Battery\n',
  'BAT0/status': 'Charging\n',
  'BAT0/serial_number': '   \n',
  'BAT0/voltage_now': '12345678\n',
  'BAT0/charge_now': '0x10\n',
  'BAT0/temp': '255\n',
  'BAT0/cycle_count': '42\n',
  'BAT0/alarm': '0\n',
}

describe('powersupplyclass', () => {
  it('is absent, without a problem, when there is no /sys/class/power_supply', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('converts micro-units and tenths of a degree and labels the info series with what is set', () => {
    expect(run(BATTERY)).toEqual({
      series: [
        'node_power_supply_charge_ampere{power_supply=BAT0} 0.000016',
        'node_power_supply_cyclecount{power_supply=BAT0} 42',
        'node_power_supply_info{power_supply=BAT0,status=Charging,type=Battery} 1',
        'node_power_supply_temp_celsius{power_supply=BAT0} 25.5',
        'node_power_supply_voltage_volt{power_supply=BAT0} 12.345678',
      ],
      problems: [],
    })
  })

  it('reports a value that is not a number and sends the rest of the supply', () => {
    const { series, problems } = run({ ...BATTERY, 'BAT0/capacity': '81%\n' })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/BAT0\/capacity: not an integer: "81%"/)
    expect(series).toContain('node_power_supply_cyclecount{power_supply=BAT0} 42')
  })

  it('leaves out supplies its pattern matches (unanchored)', () => {
    const files = { ...BATTERY, 'AC/online': '1\n' }
    expect(run(files, { 'ignored-supplies': 'BAT' }).series).toEqual([
      'node_power_supply_info{power_supply=AC} 1',
      'node_power_supply_online{power_supply=AC} 1',
    ])
  })
})
