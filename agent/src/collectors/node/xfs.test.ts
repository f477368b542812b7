import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { MetricPoint } from '#schemas/src/metric-model.ts'
import { NodeFileReader, type CollectorReader } from './collector.ts'
import { xfs } from './xfs.ts'

let root: string

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'procstream-xfs-'))
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), text)
}

function collect(): {
  result: ReturnType<CollectorReader['collect']>
  points: MetricPoint[]
  problems: string[]
} {
  const points: MetricPoint[] = []
  const problems: string[] = []
  const fs = new NodeFileReader()
  const reader = xfs.open({
    paths: {
      procfs: join(root, 'proc'),
      sysfs: join(root, 'sys'),
      rootfs: root,
      udevData: join(root, 'udev'),
    },
    options: {},
    problem: (message) => problems.push(message),
    fs,
  })
  const result = reader.collect((name, labels, value) => points.push({ name, labels, value }))
  fs.close()
  return { result, points, problems }
}

function value(points: MetricPoint[], name: string, device = 'sda1'): number | undefined {
  return points.find((p) => p.name === name && p.labels.device === device)?.value
}

describe('xfs', () => {
  it('is absent without /sys/fs/xfs', () => {
    mkdirSync(join(root, 'sys/fs'), { recursive: true })
    expect(collect()).toEqual({ result: 'absent', points: [], problems: [] })
  })

  it('reports a line that does not parse, leaves its values out and prints the rest', () => {
    write('sys/fs/xfs/sda1/stats/stats', 'abt 1 2 x 4\ndir 1 2\nrw 28 3\nvnodes 4 0 0 0 1 1 1\nbogus\n')
    // The module-wide folder has no stats/stats of its own and is no filesystem.
    write('sys/fs/xfs/stats/stats', 'rw 1 1\n')
    const { result, points, problems } = collect()
    expect(result).toBeUndefined()
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('sys/fs/xfs/sda1/stats/stats: expected 4 numbers after abt')
    expect(problems[1]).toContain('after dir')
    expect(value(points, 'node_xfs_allocation_btree_lookups_total')).toBeUndefined()
    expect(value(points, 'node_xfs_directory_operation_lookup_total')).toBeUndefined()
    expect(value(points, 'node_xfs_vnode_active_total')).toBe(4)
    expect(new Set(points.map((p) => p.labels.device))).toEqual(new Set(['sda1']))
  })

  it('reads rw as writes then reads, as the kernel prints them', () => {
    write('sys/fs/xfs/sdb/stats/stats', 'rw 28 3\n')
    const { points } = collect()
    expect(value(points, 'node_xfs_write_calls_total', 'sdb')).toBe(28)
    expect(value(points, 'node_xfs_read_calls_total', 'sdb')).toBe(3)
  })

  it('prints zeros for lines an older kernel does not have, as node_exporter does', () => {
    write('sys/fs/xfs/sdb/stats/stats', 'rw 1 2\n')
    const { points, problems } = collect()
    expect(problems).toEqual([])
    expect(points).toHaveLength(39)
    expect(value(points, 'node_xfs_inode_operation_attempts_total', 'sdb')).toBe(0)
  })
})
