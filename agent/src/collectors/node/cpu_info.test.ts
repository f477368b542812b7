import { describe, expect, it } from 'vitest'
import { cpuInfo } from './cpu_info.ts'
import { collectSeries, type Series, tempTree } from './testing.ts'

const tree = (files: Record<string, string>): string => tempTree(files)

/** Each series as `name{labels} value`. */
const run = (root: string, options: Record<string, string> = {}): Series =>
  collectSeries(cpuInfo, root, { options, via: 'agent', format: 'json' })

const block = (n: string, mhz: string): string =>
  `processor\t: ${n}\nvendor_id\t: V\ncpu family\t: 6\nmodel\t\t: 1\nmodel name\t: M\nstepping\t: 2\n` +
  `microcode\t: 0x1\ncpu MHz\t\t: ${mhz}\ncache size\t: 1 KB\nphysical id\t: 0\ncore id\t\t: ${n}\n` +
  `flags\t\t: fpu aes avx\nbugs\t\t: spectre_v1 mds\npower management:\n\n`

const info = (n: string): string =>
  `node_cpu_info{"package":"0","core":"${n}","cpu":"${n}","vendor":"V","family":"6","model":"1",` +
  `"model_name":"M","microcode":"0x1","stepping":"2","cachesize":"1 KB"} 1`

describe('cpu_info', () => {
  it('is absent without /proc/cpuinfo and /sys/devices/system/cpu', () => {
    expect(run(tree({}))).toEqual({ series: undefined, problems: [] })
  })

  it('skips a processor whose number does not parse and reports an unparsable frequency', () => {
    const { series, problems } = run(
      tree({ 'proc/cpuinfo': block('0', '1000.5') + block('x', '1') + block('2', 'fast') }),
      { 'flags-include': '^a', 'bugs-include': 'mds' },
    )
    expect(problems).toEqual([
      expect.stringContaining('processor number "x" is not a number'),
      expect.stringContaining('cpu 2: cpu MHz "fast" is not a number'),
    ])
    expect(series).toEqual([
      info('0'),
      info('2'),
      'node_cpu_frequency_hertz{"package":"0","core":"0","cpu":"0"} 1000500000',
      'node_cpu_frequency_hertz{"package":"0","core":"2","cpu":"2"} 0',
      'node_cpu_flag_info{"flag":"aes"} 1',
      'node_cpu_flag_info{"flag":"avx"} 1',
      'node_cpu_bug_info{"bug":"mds"} 1',
    ])
  })

  it('emits no flags or bugs without include patterns, and no node_cpu_info with info=false', () => {
    const dir = tree({ 'proc/cpuinfo': block('0', '1') })
    expect(run(dir).series).toEqual([
      info('0'),
      'node_cpu_frequency_hertz{"package":"0","core":"0","cpu":"0"} 1000000',
    ])
    expect(run(dir, { info: 'false', 'flags-include': 'aes' })).toEqual({
      series: ['node_cpu_flag_info{"flag":"aes"} 1'],
      problems: [],
    })
  })

  it('counts throttles once per core and package, skipping CPUs without topology', () => {
    const { series, problems } = run(
      tree({
        // Two threads of core 0 and a CPU whose package the kernel does not know (-1).
        'sys/devices/system/cpu/cpu0/topology/physical_package_id': '0\n',
        'sys/devices/system/cpu/cpu0/topology/core_id': '0\n',
        'sys/devices/system/cpu/cpu0/thermal_throttle/core_throttle_count': '3\n',
        'sys/devices/system/cpu/cpu0/thermal_throttle/package_throttle_count': '7\n',
        'sys/devices/system/cpu/cpu1/topology/physical_package_id': '0\n',
        'sys/devices/system/cpu/cpu1/topology/core_id': '0\n',
        'sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count': '99\n',
        'sys/devices/system/cpu/cpu2/topology/physical_package_id': '-1\n',
        'sys/devices/system/cpu/cpu2/topology/core_id': '2\n',
        'sys/devices/system/cpu/cpu3/topology/physical_package_id': 'garbage\n',
        'sys/devices/system/cpu/cpufreq/boost': '1\n',
        'sys/devices/system/cpu/isolated': '\n',
      }),
    )
    expect(problems).toEqual([
      expect.stringContaining('cpu3/topology/physical_package_id: not a number: "garbage"'),
    ])
    expect(series).toEqual([
      'node_cpu_package_throttles_total{"package":"0"} 7',
      'node_cpu_core_throttles_total{"package":"0","core":"0"} 3',
    ])
  })

  it('reads the isolated CPU list and reports one that does not parse', () => {
    expect(run(tree({ 'sys/devices/system/cpu/isolated': '1,3-5,9\n' })).series).toEqual(
      ['1', '3', '4', '5', '9'].map((cpu) => `node_cpu_isolated{"cpu":"${cpu}"} 1`),
    )
    expect(run(tree({ 'sys/devices/system/cpu/isolated': '1,3-\n' }))).toEqual({
      series: [],
      problems: [expect.stringContaining('isolated: not a CPU list: "1,3-"')],
    })
  })
})
