import { describe, expect, it } from 'vitest'
import { entropy } from './entropy.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under proc/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): Series {
  return collectSeries(entropy, tempTree(under('proc', files)), {})
}

describe('entropy', () => {
  it('is absent, without a problem, when there is no entropy_avail', () => {
    expect(run({ 'sys/kernel/random/poolsize': '4096\n' })).toEqual({ series: undefined, problems: [] })
  })

  it('sends the available bits alone on a kernel without poolsize', () => {
    expect(run({ 'sys/kernel/random/entropy_avail': '256\n' })).toEqual({
      series: ['node_entropy_available_bits{} 256'],
      problems: [],
    })
  })

  it('reports a value it cannot read and sends the other', () => {
    const { series, problems } = run({
      'sys/kernel/random/entropy_avail': '-3\n',
      'sys/kernel/random/poolsize': '4096\n',
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('entropy_avail: expected a number, got "-3"')
    expect(series).toEqual(['node_entropy_pool_size_bits{} 4096'])
  })
})
