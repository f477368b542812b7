import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { selinux } from './selinux.ts'

/**
 * node_exporter's end-to-end test ran with selinux off, so there is nothing of it in e2e-output.txt:
 * these cases hold it to go-selinux's reading of the same files instead.
 */

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** Files under a temporary root (path → content) → `name value` per point and the problems. */
function run(files: Record<string, string>): { series: string[]; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'selinux-test-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = selinux.open({
      paths: {
        procfs: join(root, 'proc'),
        sysfs: join(root, 'sys'),
        rootfs: root,
        udevData: join(root, 'udev'),
      },
      options: {},
      problem: (p) => problems.push(p),
      fs,
    })
    expect(reader.collect((name, _labels, value) => series.push(`${name} ${String(value)}`))).toBeUndefined()
    return { series: series.sort(), problems }
  } finally {
    fs.close()
  }
}

const CONFIG = `# This file controls the state of SELinux on the system.
SELINUXTYPE=targeted
  SELINUX="permissive"
SELINUX=enforcing
`

describe('selinux', () => {
  it('sends enabled 0 alone on a host without selinuxfs', () => {
    expect(run({ 'etc/selinux/config': CONFIG })).toEqual({
      series: ['node_selinux_enabled 0'],
      problems: [],
    })
  })

  it('sends enabled 0 alone while no policy is loaded (the process context is `kernel`)', () => {
    expect(run({ 'sys/fs/selinux/enforce': '0', 'proc/self/attr/current': 'kernel\0' })).toEqual({
      series: ['node_selinux_enabled 0'],
      problems: [],
    })
  })

  it('sends the first SELINUX= of the config and the mode of selinuxfs', () => {
    expect(
      run({
        'sys/fs/selinux/enforce': '1',
        'proc/self/attr/current': 'system_u:system_r:unconfined_t:s0\0',
        'etc/selinux/config': CONFIG,
      }),
    ).toEqual({
      series: ['node_selinux_config_mode 0', 'node_selinux_current_mode 1', 'node_selinux_enabled 1'],
      problems: [],
    })
  })

  it('takes a missing config as disabled', () => {
    expect(run({ 'sys/fs/selinux/enforce': '0' })).toEqual({
      series: ['node_selinux_config_mode -1', 'node_selinux_current_mode 0', 'node_selinux_enabled 1'],
      problems: [],
    })
  })

  it('reports garbage and sends -1 for it, as go-selinux', () => {
    const { series, problems } = run({
      'sys/fs/selinux/enforce': 'on',
      'etc/selinux/config': 'SELINUX=Enforcing\n',
    })
    expect(series).toEqual([
      'node_selinux_config_mode -1',
      'node_selinux_current_mode -1',
      'node_selinux_enabled 1',
    ])
    expect(problems).toHaveLength(2)
    expect(problems[0]).toMatch(
      /etc\/selinux\/config: SELINUX is not enforcing, permissive or disabled: "Enforcing"/,
    )
    expect(problems[1]).toMatch(/fs\/selinux\/enforce: not an integer: "on"/)
  })
})
