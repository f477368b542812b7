import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { MetricPoint } from '#schemas/src/metric-model.ts'
import { btrfs } from './btrfs.ts'
import { NodeFileReader, type CollectorReader } from './collector.ts'

const UUID = '7f07c59f-6136-449c-ab87-e1cf2328731b'
let root: string

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'procstream-btrfs-'))
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), text)
}

/** A three-device raid5 filesystem with only the files the collector reads. */
function writeFilesystem(dir = `sys/fs/btrfs/${UUID}`): void {
  for (const device of ['loop1', 'loop2', 'loop3']) write(`${dir}/devices/${device}/size`, '20971520\n')
  write(`${dir}/allocation/global_rsv_size`, '16777216\n')
  for (const type of ['data', 'metadata', 'system']) {
    write(`${dir}/allocation/${type}/bytes_reserved`, '0\n')
    write(`${dir}/allocation/${type}/raid5/total_bytes`, '1000\n')
    write(`${dir}/allocation/${type}/raid5/used_bytes`, '10\n')
  }
}

function collect(): {
  result: ReturnType<CollectorReader['collect']>
  points: MetricPoint[]
  problems: string[]
} {
  const points: MetricPoint[] = []
  const problems: string[] = []
  const fs = new NodeFileReader()
  const reader = btrfs.open({
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

function find(points: MetricPoint[], name: string, labels: Record<string, string> = {}): MetricPoint[] {
  return points.filter((p) => p.name === name && Object.entries(labels).every(([k, v]) => p.labels[k] === v))
}

describe('btrfs', () => {
  it('is absent without /sys/fs/btrfs', () => {
    mkdirSync(join(root, 'sys/fs'), { recursive: true })
    expect(collect()).toEqual({ result: 'absent', points: [], problems: [] })
  })

  it('takes the UUID from the folder and an empty label when the files are missing', () => {
    writeFilesystem()
    write('sys/fs/btrfs/features/raid56', '0\n')
    const { points, problems } = collect()
    expect(problems).toEqual([])
    expect(find(points, 'node_btrfs_info')).toEqual([
      { name: 'node_btrfs_info', labels: { label: '', uuid: UUID }, value: 1 },
    ])
    expect(find(points, 'node_btrfs_device_size_bytes').map((p) => [p.labels.device, p.value])).toEqual([
      ['loop1', 20971520 * 512],
      ['loop2', 20971520 * 512],
      ['loop3', 20971520 * 512],
    ])
    expect(find(points, 'node_btrfs_allocation_ratio', { block_group_type: 'data' })[0]?.value).toBe(1.5)
    // Before Linux 6.0 there is no commit_stats: node_exporter prints zeros.
    expect(find(points, 'node_btrfs_commits_total')[0]?.value).toBe(0)
  })

  it('reports values that do not parse, leaves them out and prints the rest', () => {
    writeFilesystem()
    write(`sys/fs/btrfs/${UUID}/allocation/global_rsv_size`, 'lots\n')
    write(`sys/fs/btrfs/${UUID}/devices/loop2/size`, '-1\n')
    write(`sys/fs/btrfs/${UUID}/commit_stats`, 'commits 12\nmax_commit_ms 1.5\nlast_commit_ms 250\nnoise\n')
    const { points, problems } = collect()
    expect(problems).toHaveLength(4)
    expect(problems[0]).toContain(`${UUID}/allocation/global_rsv_size: not a number`)
    expect(problems.filter((p) => p.includes('commit_stats'))).toHaveLength(2)
    expect(find(points, 'node_btrfs_global_rsv_size_bytes')).toEqual([])
    expect(find(points, 'node_btrfs_device_size_bytes').map((p) => p.labels.device)).toEqual([
      'loop1',
      'loop3',
    ])
    expect(find(points, 'node_btrfs_commits_total')[0]?.value).toBe(12)
    expect(find(points, 'node_btrfs_last_commit_seconds')[0]?.value).toBe(0.25)
    expect(find(points, 'node_btrfs_max_commit_seconds')).toEqual([])
    expect(find(points, 'node_btrfs_used_bytes')).toHaveLength(3)
  })

  it('gives layouts procfs does not know a ratio of 0 and skips a block group type that is gone', () => {
    writeFilesystem()
    write(`sys/fs/btrfs/${UUID}/allocation/metadata/raid1c3/total_bytes`, '5\n')
    rmSync(join(root, `sys/fs/btrfs/${UUID}/allocation/system`), { recursive: true })
    const { points, problems } = collect()
    expect(problems).toEqual([])
    expect(find(points, 'node_btrfs_allocation_ratio', { mode: 'raid1c3' })[0]?.value).toBe(0)
    expect(find(points, 'node_btrfs_size_bytes', { block_group_type: 'system' })).toEqual([])
    expect(find(points, 'node_btrfs_reserved_bytes').map((p) => p.labels.block_group_type)).toEqual([
      'data',
      'metadata',
    ])
  })
})
