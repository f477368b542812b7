import { describe, expect, it } from 'vitest'
import { edac } from './edac.ts'
import { collectSeries, type Series, tempTree } from './testing.ts'

const tree = (files: Record<string, string>, dirs: string[] = []): string => tempTree(files, { dirs })

/** Each series as `name{labels} value`. */
const run = (root: string): Series => collectSeries(edac, root, { via: 'agent', format: 'json' })

const mc = 'sys/devices/system/edac/mc/mc0'

describe('edac', () => {
  it('is absent without /sys/devices/system/edac/mc, and empty without controllers', () => {
    expect(run(tree({}))).toEqual({ series: undefined, problems: [] })
    expect(run(tree({}, ['sys/devices/system/edac/mc/power']))).toEqual({ series: [], problems: [] })
  })

  it('reports counters that are missing or do not parse and emits the rest', () => {
    const { series, problems } = run(
      tree({
        [`${mc}/ce_count`]: '1\n',
        [`${mc}/ce_noinfo_count`]: 'lots\n',
        [`${mc}/ue_count`]: '0\n',
        [`${mc}/csrow0/ce_count`]: '2\n',
        [`${mc}/csrow0/ue_count`]: '0\n',
        // The kernel's default label, a board label, and a channel without a label or a ue count.
        [`${mc}/csrow0/ch0_ce_count`]: '2\n',
        [`${mc}/csrow0/ch0_ue_count`]: '0\n',
        [`${mc}/csrow0/ch0_dimm_label`]: 'mc#0csrow#0channel#0\n',
        [`${mc}/csrow0/ch1_ce_count`]: '0\n',
        [`${mc}/csrow0/ch1_dimm_label`]: 'DIMM_A1\n',
        [`${mc}/csrow0/ch2_ce_count`]: '0\n',
      }),
    )
    expect(problems).toEqual([
      expect.stringContaining('mc0/ce_noinfo_count: not a count: "lots"'),
      expect.stringContaining('mc0/ue_noinfo_count: missing'),
    ])
    expect(series).toEqual([
      'node_edac_correctable_errors_total{"controller":"0"} 1',
      'node_edac_uncorrectable_errors_total{"controller":"0"} 0',
      'node_edac_csrow_correctable_errors_total{"controller":"0","csrow":"0"} 2',
      'node_edac_csrow_uncorrectable_errors_total{"controller":"0","csrow":"0"} 0',
      'node_edac_channel_correctable_errors_total{"controller":"0","csrow":"0","channel":"0","dimm_label":"mc0_csrow0_channel0"} 2',
      'node_edac_channel_correctable_errors_total{"controller":"0","csrow":"0","channel":"1","dimm_label":"DIMM_A1"} 0',
      'node_edac_channel_correctable_errors_total{"controller":"0","csrow":"0","channel":"2","dimm_label":"unknown"} 0',
      'node_edac_channel_uncorrectable_errors_total{"controller":"0","csrow":"0","channel":"0","dimm_label":"mc0_csrow0_channel0"} 0',
    ])
  })
})
