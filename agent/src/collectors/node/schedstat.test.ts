import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { MetricPoint } from '#schemas/src/metric-model.ts'
import { NodeFileReader } from './collector.ts'
import { schedstat } from './schedstat.ts'

/** Every tree a test made (some make several); the last one is `root`. */
const trees: string[] = []
let root = ''

afterEach(() => {
  for (const tree of trees.splice(0)) rmSync(tree, { recursive: true, force: true })
})

function run(files: Record<string, string>): { points: MetricPoint[] | undefined; problems: string[] } {
  root = mkdtempSync(join(tmpdir(), 'schedstat-test-'))
  trees.push(root)
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  const problems: string[] = []
  const points: MetricPoint[] = []
  const fs = new NodeFileReader()
  try {
    const reader = schedstat.open({
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
    const result = reader.collect((name, labels, value) => points.push({ name, labels, value }))
    return { points: result === 'absent' ? undefined : points, problems }
  } finally {
    fs.close()
  }
}

describe('schedstat', () => {
  it('is absent, without a problem, on a kernel without /proc/schedstat', () => {
    expect(run({})).toEqual({ points: undefined, problems: [] })
  })

  it('reports a cpu line it cannot read and keeps the other CPUs; domain lines are not CPUs', () => {
    const { points, problems } = run({
      'proc/schedstat': [
        'version 15',
        'timestamp 4294',
        'cpu0 1 0 2 3 4 5 2000000000 500000000 7',
        'domain0 00000003 1 2 3',
        'cpu1 1 0 2 3',
        'cpu2 1 0 2 3 4 5 99999999999999999999 1 1',
        'cpu3 1 0 2 3 4 5 6 7 8',
      ].join('\n'),
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('not a cpu line: "cpu1 1 0 2 3"')
    expect(problems[1]).toContain('out of range')
    expect(points).toEqual([
      { name: 'node_schedstat_running_seconds_total', labels: { cpu: '0' }, value: 2 },
      { name: 'node_schedstat_waiting_seconds_total', labels: { cpu: '0' }, value: 0.5 },
      { name: 'node_schedstat_timeslices_total', labels: { cpu: '0' }, value: 7 },
      { name: 'node_schedstat_running_seconds_total', labels: { cpu: '3' }, value: 6e-9 },
      { name: 'node_schedstat_waiting_seconds_total', labels: { cpu: '3' }, value: 7e-9 },
      { name: 'node_schedstat_timeslices_total', labels: { cpu: '3' }, value: 8 },
    ])
  })

  it('takes counters beyond 2^53 (rounded as Go rounds a uint64 to float64) up to the uint64 maximum', () => {
    const { points, problems } = run({
      'proc/schedstat': 'cpu0 0 0 0 0 0 0 0 0 18446744073709551615\n',
    })
    expect(problems).toEqual([])
    expect(points?.find((p) => p.name === 'node_schedstat_timeslices_total')?.value).toBe(2 ** 64)
  })
})
