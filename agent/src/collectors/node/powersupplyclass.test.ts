import { describe, expect, it } from 'vitest'
import { powersupplyclass } from './powersupplyclass.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under sys/class/power_supply → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>, options: Record<string, string> = {}): Series {
  return collectSeries(powersupplyclass, tempTree(under('sys/class/power_supply', files)), {
    options: { 'ignored-supplies': '^$', ...options },
    sort: true,
  })
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
