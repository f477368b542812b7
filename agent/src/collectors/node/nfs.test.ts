import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { MetricPoint } from '#schemas/src/metric-model.ts'
import { NodeFileReader, type CollectorReader } from './collector.ts'
import { nfs } from './nfs.ts'

let root: string

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'procstream-nfs-'))
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
  const reader = nfs.open({
    paths: { procfs: root, sysfs: join(root, 'sys'), rootfs: root, udevData: join(root, 'udev') },
    options: {},
    problem: (message) => problems.push(message),
    fs,
  })
  const result = reader.collect((name, labels, value) => points.push({ name, labels, value }))
  fs.close()
  return { result, points, problems }
}

function request(points: MetricPoint[], proto: string, method: string): number | undefined {
  return points.find(
    (p) => p.name === 'node_nfs_requests_total' && p.labels.proto === proto && p.labels.method === method,
  )?.value
}

describe('nfs', () => {
  it('is absent without /proc/net/rpc/nfs', () => {
    expect(collect()).toEqual({ result: 'absent', points: [], problems: [] })
  })

  it('reports lines that do not parse, leaves their series out and prints the rest', () => {
    writeFileSync(
      join(root, 'net/rpc/nfs'),
      'net 1 2 x 4\nrpc 10 1 2\nproc3 22 1 2\nproc4 2 5 6\nfuture_line 1 2 3\n',
    )
    const { result, points, problems } = collect()
    expect(result).toBeUndefined()
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('net/rpc/nfs: unexpected net line "net 1 2 x 4"')
    expect(problems[1]).toContain('unexpected proc3 line')
    expect(points.filter((p) => p.name === 'node_nfs_packets_total')).toEqual([])
    expect(points.find((p) => p.name === 'node_nfs_rpcs_total')?.value).toBe(10)
    expect(request(points, '3', 'GetAttr')).toBeUndefined()
    // A shorter proc4 line (older kernel) leaves the later operations at 0, as procfs pads it.
    expect(request(points, '4', 'Null')).toBe(5)
    expect(request(points, '4', 'Read')).toBe(6)
    expect(request(points, '4', 'Clone')).toBe(0)
    // A kernel without NFSv2 prints no proc2 line: node_exporter prints zeros.
    expect(request(points, '2', 'Null')).toBe(0)
  })

  it('keeps counters beyond 2^53 as Go rounds them', () => {
    writeFileSync(join(root, 'net/rpc/nfs'), 'rpc 18446744073709551615 0 0\n')
    const { points, problems } = collect()
    expect(problems).toEqual([])
    expect(points.find((p) => p.name === 'node_nfs_rpcs_total')?.value).toBe(2 ** 64)
  })
})
