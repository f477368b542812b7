import { describe, expect, it } from 'vitest'
import { conntrack } from './conntrack.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under proc/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): Series {
  return collectSeries(conntrack, tempTree(under('proc', files)), {})
}

const HEADER =
  'entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart'
const row = (found: string, restart = ' 00000002'): string =>
  `00000021  00000000 ${found} 00000000 00000003 0000588a 00000000 00000000 00000001 00000000 00000000 00000000 00000000  00000000 00000000 00000000${restart}`
const STATS = [
  'node_nf_conntrack_stat_found',
  'node_nf_conntrack_stat_invalid',
  'node_nf_conntrack_stat_ignore',
  'node_nf_conntrack_stat_insert',
  'node_nf_conntrack_stat_insert_failed',
  'node_nf_conntrack_stat_drop',
  'node_nf_conntrack_stat_early_drop',
  'node_nf_conntrack_stat_search_restart',
]

describe('conntrack', () => {
  it('is absent, without a problem, when the module is not loaded (no nf_conntrack_count)', () => {
    expect(run({ 'net/stat/nf_conntrack': `${HEADER}\n${row('00000001')}\n` })).toEqual({
      series: undefined,
      problems: [],
    })
  })

  it('sends the count alone when the limit and statistics are not there', () => {
    expect(run({ 'sys/net/netfilter/nf_conntrack_count': '12\n' })).toEqual({
      series: ['node_nf_conntrack_entries{} 12'],
      problems: [],
    })
  })

  it('reports a count and a statistics row it cannot read and sends the rest', () => {
    const { series, problems } = run({
      'sys/net/netfilter/nf_conntrack_count': 'many\n',
      'sys/net/netfilter/nf_conntrack_max': '65536\n',
      'net/stat/nf_conntrack': [HEADER, row('00000001'), row('0000000g'), row('00000010', ''), ''].join('\n'),
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('nf_conntrack_count: expected a number, got "many"')
    expect(problems[1]).toContain('expected 16 or 17 hex counters')
    // Linux < 2.6.35's 16-column rows have no search_restart: they add nothing to it.
    expect(series).toEqual([
      'node_nf_conntrack_entries_limit{} 65536',
      `${STATS[0] ?? ''}{} 17`,
      `${STATS[1] ?? ''}{} 6`,
      `${STATS[2] ?? ''}{} 45332`,
      `${STATS[3] ?? ''}{} 2`,
      `${STATS[4] ?? ''}{} 0`,
      `${STATS[5] ?? ''}{} 0`,
      `${STATS[6] ?? ''}{} 0`,
      `${STATS[7] ?? ''}{} 2`,
    ])
  })
})
