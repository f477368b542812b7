import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeCollectors } from '../../node-collectors.ts'
import { uname } from './uname.ts'

let root = ''

afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true })
  root = ''
})

function collect(procfs: string): Record<string, string> | undefined {
  const collectors = new NodeCollectors({
    paths: { procfs, sysfs: '/sys', rootfs: '', udevData: '/run/udev/data' },
    onProblem: (_c, p) => {
      throw new Error(p)
    },
    collectors: [uname],
  })
  const sample = collectors.collect('uname')
  collectors.close()
  expect(sample?.metrics.map((f) => f.name)).toEqual(['node_uname_info'])
  return sample?.metrics[0]?.series[0]?.labels
}

const uname1 = (flag: string): string =>
  execFileSync('uname', [flag], { encoding: 'utf8' }).replace(/\n$/, '')

describe('uname', () => {
  // node_exporter's end-to-end test runs with uname off: compare with uname(1) on this machine instead.
  it('reports what uname(1) prints for this machine', () => {
    expect(collect('/proc')).toEqual({
      sysname: uname1('-s'),
      nodename: uname1('-n'),
      release: uname1('-r'),
      version: uname1('-v'),
      machine: uname1('-m'),
      domainname: readFileSync('/proc/sys/kernel/domainname', 'utf8').replace(/\n$/, ''),
    })
  })

  it('leaves the domain name empty when procfs has none', () => {
    root = mkdtempSync(join(tmpdir(), 'uname-test-'))
    expect(collect(root)).toMatchObject({ sysname: uname1('-s'), domainname: '' })
  })
})
