import { describe, expect, it } from 'vitest'
import { softnet } from './softnet.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under proc/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): Series {
  return collectSeries(softnet, tempTree(under('proc', files)), {})
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
