import { describe, expect, it } from 'vitest'
import { bcache, dehumanize } from './bcache.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

const UUID = 'deaddd54-c735-46d5-868e-f331c5fd7c74'

/** The files under sys/fs/bcache → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string> | undefined, options: Record<string, string> = {}): Series {
  const root = tempTree(under('sys/fs/bcache', files ?? {}), {
    dirs: files === undefined ? [] : ['sys/fs/bcache'],
  })
  return collectSeries(bcache, root, { options: { priorityStats: 'false', ...options }, sort: true })
}

describe('dehumanize', () => {
  it('reads bch_hprint’s units with its tenths-of-1024ths fractions, truncated', () => {
    expect(dehumanize('0')).toBe(0)
    expect(dehumanize('1305')).toBe(1305)
    expect(dehumanize('1.1M')).toBe(1150976)
    expect(dehumanize('20.4G')).toBe(21894266880)
    expect(dehumanize('427.5k')).toBe(437748)
    expect(dehumanize('-920.7M', true)).toBe(-965406720)
  })

  it('refuses signs where none belong, unknown units and garbage', () => {
    expect(dehumanize('-1k')).toBeUndefined()
    expect(dehumanize('12x')).toBeUndefined()
    expect(dehumanize('1.2.3k')).toBeUndefined()
    expect(dehumanize('')).toBeUndefined()
  })
})

describe('bcache', () => {
  it('is absent, without a problem, when there is no /sys/fs/bcache', () => {
    expect(run(undefined)).toEqual({ series: undefined, problems: [] })
  })

  it('sends nothing for a bcache module without cache sets', () => {
    expect(run({ register: '' })).toEqual({ series: [], problems: [] })
  })

  it('sends a cache set, its backing and cache devices; readaheads only when counted', () => {
    const { series, problems } = run(
      {
        [`${UUID}/tree_depth`]: '2\n',
        [`${UUID}/internal/btree_read_average_duration_us`]: '1305\n',
        [`${UUID}/bdev0/dirty_data`]: '1.5k\n',
        [`${UUID}/bdev0/writeback_rate_debug`]:
          'rate:\t\t1.1M/sec\ndirty:\t\t20.4G\ntarget:\t\t20.4G\nproportional:\t-427.5k\nintegral:\t0.0k\nchange:\t\t-1.0k/sec\nnext io:\t17ms\n',
        [`${UUID}/bdev0/stats_total/cache_hits`]: '546\n',
        [`${UUID}/bdev0/stats_total/cache_readaheads`]: '0\n',
        [`${UUID}/cache0/written`]: '2.0M\n',
        [`${UUID}/cache0/priority_stats`]: 'Unused:\t\t99%\nMetadata:\t0%\nAverage:\t10473\n',
      },
      { priorityStats: 'true' },
    )
    expect(problems).toEqual([])
    const set = `uuid=${UUID}`
    expect(series).toEqual([
      `node_bcache_btree_read_average_duration_seconds{${set}} 0.000001305`,
      `node_bcache_cache_hits_total{${set},backing_device=bdev0} 546`,
      `node_bcache_dirty_data_bytes{${set},backing_device=bdev0} 1524`,
      `node_bcache_dirty_target_bytes{${set},backing_device=bdev0} 21894266880`,
      `node_bcache_priority_stats_metadata_percent{${set},cache_device=cache0} 0`,
      `node_bcache_priority_stats_unused_percent{${set},cache_device=cache0} 99`,
      `node_bcache_tree_depth{${set}} 2`,
      `node_bcache_writeback_change{${set},backing_device=bdev0} -1024`,
      `node_bcache_writeback_rate_integral_term{${set},backing_device=bdev0} 0`,
      `node_bcache_writeback_rate_proportional_term{${set},backing_device=bdev0} -437748`,
      `node_bcache_writeback_rate{${set},backing_device=bdev0} 1150976`,
      `node_bcache_written_bytes_total{${set},cache_device=cache0} 2097152`,
    ])
  })

  it('reports values that do not parse and sends the rest', () => {
    const { series, problems } = run({
      [`${UUID}/tree_depth`]: 'deep\n',
      [`${UUID}/congested`]: '0\n',
      [`${UUID}/bdev0/writeback_rate_debug`]: 'rate:\t\tfast/sec\ntarget:\t\t1.0k\n',
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toMatch(/tree_depth: not a bcache value: "deep"/)
    expect(problems[1]).toMatch(/writeback_rate_debug: not a bcache value: "rate:\\t\\tfast\/sec"/)
    expect(series).toEqual([
      `node_bcache_congested{uuid=${UUID}} 0`,
      `node_bcache_dirty_target_bytes{uuid=${UUID},backing_device=bdev0} 1024`,
    ])
  })
})
