import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { MetricPoint } from '#schemas/src/metric-model.ts'
import { NodeFileReader, type CollectorReader } from './collector.ts'
import { nfsd } from './nfsd.ts'

let root: string

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'procstream-nfsd-'))
  mkdirSync(join(root, 'net/rpc'), { recursive: true })
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function collect(): {
  result: ReturnType<CollectorReader['collect']>
  points: MetricPoint[]
  problems: string[]
} {
  const points: MetricPoint[] = []
  const problems: string[] = []
  const fs = new NodeFileReader()
  const reader = nfsd.open({
    paths: { procfs: root, sysfs: join(root, 'sys'), rootfs: root, udevData: join(root, 'udev') },
    options: {},
    problem: (message) => problems.push(message),
    fs,
  })
  const result = reader.collect((name, labels, value) => points.push({ name, labels, value }))
  fs.close()
  return { result, points, problems }
}

function point(points: MetricPoint[], name: string, labels: Record<string, string> = {}): number | undefined {
  return points.find((p) => p.name === name && Object.entries(labels).every(([k, v]) => p.labels[k] === v))
    ?.value
}

const OPS_39 = `proc4ops 39 ${Array.from({ length: 39 }, (_, i) => String(i + 1)).join(' ')}`

describe('nfsd', () => {
  it('is absent without /proc/net/rpc/nfsd', () => {
    expect(collect()).toEqual({ result: 'absent', points: [], problems: [] })
  })

  it('reports lines that do not parse, leaves their series out and prints the rest', () => {
    writeFileSync(
      join(root, 'net/rpc/nfsd'),
      ['rc 0 6', 'th 8 0 0.000 0.000', 'ra 32 0 0', 'rpc 100 3 1 2 0', 'proc2 18 1', OPS_39, ''].join('\n'),
    )
    const { result, points, problems } = collect()
    expect(result).toBeUndefined()
    expect(problems.map((p) => p.replace(/ line .*/, ''))).toEqual([
      `${join(root, 'net/rpc/nfsd')}: unexpected rc`,
      `${join(root, 'net/rpc/nfsd')}: unexpected ra`,
      `${join(root, 'net/rpc/nfsd')}: unexpected proc2`,
    ])
    expect(point(points, 'node_nfsd_reply_cache_hits_total')).toBeUndefined()
    expect(point(points, 'node_nfsd_read_ahead_cache_size_blocks')).toBeUndefined()
    expect(point(points, 'node_nfsd_requests_total', { proto: '2' })).toBeUndefined()
    // The thread line goes on with fractions after its two counts.
    expect(point(points, 'node_nfsd_server_threads')).toBe(8)
    expect(point(points, 'node_nfsd_rpc_errors_total', { error: 'auth' })).toBe(2)
    // Lines this kernel does not print: zeros, as node_exporter prints them.
    expect(point(points, 'node_nfsd_disk_bytes_read_total')).toBe(0)
    expect(point(points, 'node_nfsd_requests_total', { proto: '3', method: 'Commit' })).toBe(0)
    expect(point(points, 'node_nfsd_requests_total', { method: 'WdelegGetattr' })).toBe(0)
  })

  it('reads the operations by place and has no RELEASE_LOCKOWNER on a 39-operation line', () => {
    writeFileSync(join(root, 'net/rpc/nfsd'), `${OPS_39}\n`)
    const { points, problems } = collect()
    expect(problems).toEqual([])
    const v4 = points.filter((p) => p.name === 'node_nfsd_requests_total' && p.labels.proto === '4')
    expect(v4.find((p) => p.labels.method === 'Access')?.value).toBe(4)
    expect(v4.find((p) => p.labels.method === 'Read')?.value).toBe(26)
    expect(v4.find((p) => p.labels.method === 'Write')?.value).toBe(39)
    expect(v4.find((p) => p.labels.method === 'RelLockOwner')?.value).toBe(0)
    expect(v4.some((p) => p.labels.method === 'PutRootFH')).toBe(false)
  })
})
