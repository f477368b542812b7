import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeCollectors } from '../../node-collectors.ts'
import { edac } from './edac.ts'

let root = ''

afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function tree(files: Record<string, string>, dirs: string[] = []): string {
  root = mkdtempSync(join(tmpdir(), 'edac-test-'))
  for (const dir of dirs) mkdirSync(join(root, dir), { recursive: true })
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  return join(root, 'sys')
}

/** Each series as `name{labels} value`. */
function run(sysfs: string): { series: string[] | undefined; problems: string[] } {
  const problems: string[] = []
  const collectors = new NodeCollectors({
    paths: { procfs: join(root, 'proc'), sysfs, rootfs: root, udevData: join(root, 'udev') },
    onProblem: (_c, p) => problems.push(p),
    collectors: [edac],
  })
  const sample = collectors.collect('edac')
  collectors.close()
  const series = sample?.metrics.flatMap((f) =>
    f.series.map((s) => `${f.name}${JSON.stringify(s.labels)} ${String(s.value)}`),
  )
  return { series, problems }
}

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
