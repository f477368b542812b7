import { describe, expect, it } from 'vitest'
import { cpufreq } from './cpufreq.ts'
import { collectSeries, type Series, tempTree } from './testing.ts'

const tree = (files: Record<string, string>): string => tempTree(files)

/** Each series as `name{labels} value`. */
const run = (root: string): Series => collectSeries(cpufreq, root, { via: 'agent', format: 'json' })

describe('cpufreq', () => {
  it('is absent without CPUs or without cpufreq directories', () => {
    expect(run(tree({}))).toEqual({ series: undefined, problems: [] })
    expect(run(tree({ 'sys/devices/system/cpu/cpu0/topology/core_id': '0\n' }))).toEqual({
      series: undefined,
      problems: [],
    })
  })

  it('skips offline CPUs, reports a frequency that does not parse and emits the rest', () => {
    const { series, problems } = run(
      tree({
        'sys/devices/system/cpu/offline': '1\n',
        'sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_min_freq': '400000\n',
        'sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq': 'garbage\n',
        'sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq': '3700000\n',
        'sys/devices/system/cpu/cpu0/cpufreq/scaling_governor': 'schedutil\n',
        'sys/devices/system/cpu/cpu0/cpufreq/scaling_available_governors': 'performance schedutil\n',
        'sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq': '1000\n',
      }),
    )
    expect(problems).toEqual([
      expect.stringContaining('cpu0/cpufreq/scaling_cur_freq: not a frequency: "garbage"'),
    ])
    expect(series).toEqual([
      'node_cpu_frequency_min_hertz{"cpu":"0"} 400000000',
      'node_cpu_scaling_frequency_max_hertz{"cpu":"0"} 3700000000',
      'node_cpu_scaling_governor{"cpu":"0","governor":"performance"} 0',
      'node_cpu_scaling_governor{"cpu":"0","governor":"schedutil"} 1',
    ])
  })

  it('reports an offline list that does not parse and then skips no CPU', () => {
    const { series, problems } = run(
      tree({
        'sys/devices/system/cpu/offline': 'x-y\n',
        'sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq': '1000\n',
      }),
    )
    expect(problems).toEqual([expect.stringContaining('offline: not a CPU list: "x-y"')])
    expect(series).toEqual(['node_cpu_scaling_frequency_hertz{"cpu":"0"} 1000000'])
  })
})
