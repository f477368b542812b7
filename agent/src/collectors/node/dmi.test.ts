import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeCollectors } from '../../node-collectors.ts'
import { dmi } from './dmi.ts'

let root = ''

afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function tree(files: Record<string, string>, dirs: string[] = []): string {
  root = mkdtempSync(join(tmpdir(), 'dmi-test-'))
  for (const dir of dirs) mkdirSync(join(root, dir), { recursive: true })
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  return join(root, 'sys')
}

function run(sysfs: string): { series: Record<string, string>[] | undefined; problems: string[] } {
  const problems: string[] = []
  const collectors = new NodeCollectors({
    paths: { procfs: join(root, 'proc'), sysfs, rootfs: root, udevData: join(root, 'udev') },
    onProblem: (_c, p) => problems.push(p),
    collectors: [dmi],
  })
  const sample = collectors.collect('dmi')
  collectors.close()
  return { series: sample?.metrics.flatMap((f) => f.series.map((s) => s.labels)), problems }
}

describe('dmi', () => {
  it('is absent without /sys/class/dmi/id or without any attribute in it', () => {
    expect(run(tree({}))).toEqual({ series: undefined, problems: [] })
    expect(run(tree({ 'sys/class/dmi/id/uevent': 'MODALIAS=dmi:x\n' }))).toEqual({
      series: undefined,
      problems: [],
    })
  })

  it('labels only with the attributes present, trimmed, sys_vendor as system_vendor', () => {
    const { series, problems } = run(
      tree({
        'sys/class/dmi/id/bios_vendor': 'Vendor Inc.  \n',
        'sys/class/dmi/id/sys_vendor': 'System Inc.\n',
        'sys/class/dmi/id/chassis_asset_tag': ' \n',
        'sys/class/dmi/id/chassis_type': '23\n',
        'sys/class/dmi/id/modalias': 'dmi:bvnVendor\n',
      }),
    )
    expect(problems).toEqual([])
    expect(series).toEqual([
      { bios_vendor: 'Vendor Inc.', chassis_asset_tag: '', system_vendor: 'System Inc.' },
    ])
  })
})
