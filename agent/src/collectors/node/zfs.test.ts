import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { MetricPoint } from '#schemas/src/metric-model.ts'
import { nodeMetricInfo } from '#schemas/src/node-metrics/index.ts'
import { NodeFileReader, type CollectorReader } from './collector.ts'
import { zfs } from './zfs.ts'

let root: string

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'procstream-zfs-'))
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, 'spl/kstat/zfs', path)), { recursive: true })
  writeFileSync(join(root, 'spl/kstat/zfs', path), text)
}

function kstat(rows: string[]): string {
  return [
    '6 1 0x01 91 4368 5266997922 97951858082072',
    'name                            type data',
    ...rows,
    '',
  ].join('\n')
}

function collect(): {
  result: ReturnType<CollectorReader['collect']>
  points: MetricPoint[]
  problems: string[]
} {
  const points: MetricPoint[] = []
  const problems: string[] = []
  const fs = new NodeFileReader()
  const reader = zfs.open({
    paths: { procfs: root, sysfs: join(root, 'sys'), rootfs: root, udevData: join(root, 'udev') },
    options: {},
    problem: (message) => problems.push(message),
    fs,
  })
  const result = reader.collect((name, labels, value) => points.push({ name, labels, value }))
  fs.close()
  return { result, points, problems }
}

function value(points: MetricPoint[], name: string, labels: Record<string, string> = {}): number | undefined {
  return points.find((p) => p.name === name && Object.entries(labels).every(([k, v]) => p.labels[k] === v))
    ?.value
}

describe('zfs', () => {
  it('is absent without the zfs module', () => {
    mkdirSync(join(root, 'spl/kstat'), { recursive: true })
    expect(collect()).toEqual({ result: 'absent', points: [], problems: [] })
  })

  it('reads the 64-bit kstats, reports rows that do not parse and prints the rest', () => {
    write(
      'arcstats',
      kstat([
        'hits                            4    12',
        'misses                          4    many',
        'memory_available_bytes          3    -922337203685477580',
        'arc_meta_used                   1    7',
        'l2_bad                          4    -1',
      ]),
    )
    write('fm', kstat(['erpt-dropped                    4    18']))
    write('zil', 'zil_commit_count 4 1\n')
    const { result, points, problems } = collect()
    expect(result).toBeUndefined()
    expect(problems).toHaveLength(3)
    expect(problems[0]).toContain('arcstats: unreadable kstat "misses')
    expect(problems[1]).toContain('l2_bad')
    expect(problems[2]).toContain('zil: no "name type data" line')
    expect(value(points, 'node_zfs_arc_hits')).toBe(12)
    expect(value(points, 'node_zfs_arc_memory_available_bytes')).toBe(Number('-922337203685477580'))
    // Only 64-bit integers are read.
    expect(value(points, 'node_zfs_arc_arc_meta_used')).toBeUndefined()
    expect(value(points, 'node_zfs_fm_erpt_dropped')).toBe(18)
  })

  it('reads pools: io columns, datasets named with spaces, and the state', () => {
    write(
      'tank/io',
      '12 3 0x00 1 80 79205351707403 395818011156865\n' +
        'nread    nwritten reads    writes   wtime    wlentime wupdate  rtime    rlentime rupdate  wcnt     rcnt\n' +
        '1884160  3206144  22       132      7155162  104112268 79210489694949 24168078 104112268 79210489849220 0 0\n',
    )
    write('tank/objset-0x36', kstat(['dataset_name                    7    tank/my  data', 'writes 4 4']))
    write('tank/objset-0x37', kstat(['writes 4 4']))
    write('tank/state', 'DEGRADED\n')
    write('scratch/io', 'nread nwritten\n1 2\n')
    write('scratch/state', 'RESILVERING\n')
    const { points, problems } = collect()
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('scratch/io: no nread')
    expect(problems[1]).toContain('tank/objset-0x37: no "name type data" line or no dataset_name')
    expect(value(points, 'node_zfs_zpool_nread', { zpool: 'tank' })).toBe(1884160)
    expect(value(points, 'node_zfs_zpool_dataset_writes', { zpool: 'tank', dataset: 'tank/my  data' })).toBe(
      4,
    )
    expect(value(points, 'node_zfs_zpool_state', { zpool: 'tank', state: 'degraded' })).toBe(1)
    expect(value(points, 'node_zfs_zpool_state', { zpool: 'tank', state: 'online' })).toBe(0)
    // A state node_exporter does not know: a series for each known one, all 0.
    expect(
      points.filter((p) => p.name === 'node_zfs_zpool_state' && p.labels.zpool === 'scratch'),
    ).toHaveLength(7)
    expect(value(points, 'node_zfs_zpool_state', { zpool: 'scratch' })).toBe(0)
  })

  it('declares HELP as node_exporter builds it from the kstat name, dashes and all', () => {
    expect(nodeMetricInfo('node_zfs_fm_erpt_set_failed')?.help).toBe('kstat.zfs.misc.fm.erpt-set-failed')
    expect(nodeMetricInfo('node_zfs_dmu_tx_dmu_tx_assigned')?.help).toBe(
      'kstat.zfs.misc.dmu_tx.dmu_tx_assigned',
    )
    expect(nodeMetricInfo('node_zfs_zpool_dataset_nread')?.help).toBe('kstat.zfs.misc.objset.nread')
    expect(nodeMetricInfo('node_zfs_zpool_state')?.type).toBe('gauge')
    expect(nodeMetricInfo('node_zfs_zpool_')).toBeUndefined()
  })
})
