import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { softnet } from './softnet.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** The files under proc/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): { series: string[] | undefined; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'softnet-test-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'proc', path)), { recursive: true })
    writeFileSync(join(root, 'proc', path), text)
  }
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = softnet.open({
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
    const result = reader.collect((name, labels, value) => {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      series.push(`${name}{${text}} ${String(value)}`)
    })
    return { series: result === 'absent' ? undefined : series, problems }
  } finally {
    fs.close()
  }
}

const ROW11 = (processed: string): string =>
  `${processed} 00000001 00000002 0 0 0 0 0 00000003 00000004 00000005`

describe('softnet', () => {
  it('is absent, without a problem, when there is no softnet_stat', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('numbers CPUs by line before Linux 5.10, also past a line it reports and skips', () => {
    const { series, problems } = run({
      'net/softnet_stat': [ROW11('0000000a'), '0000000b 00000000 zz', ROW11('0000000c'), ''].join('\n'),
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('expected at least 9 hex counters, got "0000000b 00000000 zz"')
    expect(series?.filter((s) => s.startsWith('node_softnet_processed_total'))).toEqual([
      'node_softnet_processed_total{cpu=0} 10',
      'node_softnet_processed_total{cpu=2} 12',
    ])
    expect(series?.filter((s) => s.includes('cpu=2'))).toEqual([
      'node_softnet_processed_total{cpu=2} 12',
      'node_softnet_dropped_total{cpu=2} 1',
      'node_softnet_times_squeezed_total{cpu=2} 2',
      'node_softnet_cpu_collision_total{cpu=2} 3',
      'node_softnet_received_rps_total{cpu=2} 4',
      'node_softnet_flow_limit_count_total{cpu=2} 5',
      'node_softnet_backlog_len{cpu=2} 0',
    ])
  })

  it('takes the CPU number and backlog from Linux 5.10’s 12th and 13th columns (offline CPUs leave gaps)', () => {
    const { series, problems } = run({ 'net/softnet_stat': `${ROW11('00000001')} 00000007 0000000a\n` })
    expect(problems).toEqual([])
    expect(series).toContain('node_softnet_backlog_len{cpu=10} 7')
    expect(series).toContain('node_softnet_processed_total{cpu=10} 1')
  })
})
