import { describe, expect, it } from 'vitest'
import { thermalZone } from './thermal_zone.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under sys/class/thermal → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): Series {
  return collectSeries(thermalZone, tempTree(under('sys/class/thermal', files)), { sort: true })
}

describe('thermal_zone', () => {
  it('is absent, without a problem, when there is no /sys/class/thermal', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('sends zones in °C and cooling device states, a negative current state included', () => {
    expect(
      run({
        'thermal_zone0/type': 'x86_pkg_temp\n',
        'thermal_zone0/policy': 'step_wise\n',
        'thermal_zone0/temp': '-1500\n',
        'cooling_device3/type': 'intel_powerclamp\n',
        'cooling_device3/max_state': '50\n',
        'cooling_device3/cur_state': '-1\n',
        // Not a zone: the glob wants a digit after the prefix.
        'thermal_zone_x/temp': '1\n',
      }),
    ).toEqual({
      series: [
        'node_cooling_device_cur_state{name=3,type=intel_powerclamp} -1',
        'node_cooling_device_max_state{name=3,type=intel_powerclamp} 50',
        'node_thermal_zone_temp{zone=0,type=x86_pkg_temp} -1.5',
      ],
      problems: [],
    })
  })

  it('skips a zone it cannot read quietly, reports one that does not parse, and sends the rest', () => {
    const { series, problems } = run({
      // No policy: procfs skips the zone.
      'thermal_zone0/type': 'acpitz\n',
      'thermal_zone0/temp': '30000\n',
      'thermal_zone1/type': 'acpitz\n',
      'thermal_zone1/policy': 'step_wise\n',
      'thermal_zone1/temp': 'n/a\n',
      'thermal_zone2/type': 'iwlwifi\n',
      'thermal_zone2/policy': 'step_wise\n',
      'thermal_zone2/temp': '41000\n',
      'cooling_device0/type': 'Fan\n',
      'cooling_device0/max_state': 'lots\n',
      'cooling_device0/cur_state': '0\n',
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toMatch(/thermal_zone1\/temp: not an integer: "n\/a"/)
    expect(problems[1]).toMatch(/cooling_device0\/max_state: not an integer: "lots"/)
    expect(series).toEqual(['node_thermal_zone_temp{zone=2,type=iwlwifi} 41'])
  })
})
