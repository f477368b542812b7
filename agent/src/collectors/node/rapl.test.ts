import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { rapl } from './rapl.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/**
 * The files under sys/class/powercap → `name{labels} value` per point, the powercap folder shown
 * as `P` (undefined when absent), and the problems.
 */
function run(files: Record<string, string>, options: Record<string, string> = {}): Series {
  const root = tempTree(under('sys/class/powercap', files))
  const { series, problems } = collectSeries(rapl, root, { options, sort: true })
  return { series: series?.map((s) => s.replaceAll(join(root, 'sys/class/powercap'), 'P')), problems }
}

const ZONES = {
  'intel-rapl/enabled': '1\n',
  'intel-rapl:0/name': 'package-0\n',
  'intel-rapl:0/energy_uj': '240422366267\n',
  'intel-rapl:0:0/name': 'dram\n',
  'intel-rapl:0:0/energy_uj': '1000000\n',
  'intel-rapl:1/name': 'package-1\n',
  'intel-rapl:1/energy_uj': '5\n',
  'intel-rapl:1:0/name': 'dram\n',
  'intel-rapl:1:0/energy_uj': '2000000\n',
}

describe('rapl', () => {
  it('is absent, without a problem, when there is no /sys/class/powercap', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('indexes zones by their name suffix, or by how often the name came before', () => {
    expect(run(ZONES)).toEqual({
      series: [
        'node_rapl_dram_joules_total{index=0,path=P/intel-rapl:0:0} 1',
        'node_rapl_dram_joules_total{index=1,path=P/intel-rapl:1:0} 2',
        'node_rapl_package_joules_total{index=0,path=P/intel-rapl:0} 240422.366267',
        'node_rapl_package_joules_total{index=1,path=P/intel-rapl:1} 0.000005',
      ],
      problems: [],
    })
  })

  it('puts the zone in a label when asked to, and sanitizes names that are not metric names', () => {
    const files = { 'x/name': 'psys.main\n', 'x/energy_uj': '3000000\n' }
    expect(run(files).series).toEqual(['node_rapl_psys_main_joules_total{index=0,path=P/x} 3'])
    expect(run(files, { 'enable-zone-label': 'true' }).series).toEqual([
      'node_rapl_joules_total{index=0,path=P/x,rapl_zone=psys.main} 3',
    ])
  })

  it('reports a counter that does not parse or is missing and sends the other zones', () => {
    const files: Record<string, string> = { ...ZONES, 'intel-rapl:0/energy_uj': '-1\n' }
    delete files['intel-rapl:1:0/energy_uj']
    const { series, problems } = run(files)
    expect(problems).toEqual([
      expect.stringMatching(/intel-rapl:0\/energy_uj: not a counter: "-1"/),
      expect.stringMatching(/intel-rapl:1:0\/energy_uj: ENOENT/),
    ])
    expect(series).toEqual([
      'node_rapl_dram_joules_total{index=0,path=P/intel-rapl:0:0} 1',
      'node_rapl_package_joules_total{index=1,path=P/intel-rapl:1} 0.000005',
    ])
  })
})
