import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/bcache_linux.go. */
export const BCACHE: MetricCatalogue = {
  collector: 'bcache',
  metrics: [
    {
      name: 'node_bcache_active_journal_entries',
      help: 'Number of journal entries that are newer than the index.',
      type: 'gauge',
    },
    {
      name: 'node_bcache_average_key_size_sectors',
      help: 'Average data per key in the btree (sectors).',
      type: 'gauge',
    },
    {
      name: 'node_bcache_btree_cache_size_bytes',
      help: 'Amount of memory currently used by the btree cache.',
      type: 'gauge',
    },
    { name: 'node_bcache_btree_nodes', help: 'Total nodes in the btree.', type: 'gauge' },
    {
      name: 'node_bcache_btree_read_average_duration_seconds',
      help: 'Average btree read duration.',
      type: 'gauge',
    },
    {
      name: 'node_bcache_bypassed_bytes_total',
      help: 'Amount of IO (both reads and writes) that has bypassed the cache.',
      type: 'counter',
    },
    {
      name: 'node_bcache_cache_available_percent',
      help: 'Percentage of cache device without dirty data, usable for writeback (may contain clean cached data).',
      type: 'gauge',
    },
    {
      name: 'node_bcache_cache_bypass_hits_total',
      help: 'Hits for IO intended to skip the cache.',
      type: 'counter',
    },
    {
      name: 'node_bcache_cache_bypass_misses_total',
      help: 'Misses for IO intended to skip the cache.',
      type: 'counter',
    },
    {
      name: 'node_bcache_cache_hits_total',
      help: 'Hits counted per individual IO as bcache sees them.',
      type: 'counter',
    },
    {
      name: 'node_bcache_cache_miss_collisions_total',
      help: 'Instances where data insertion from cache miss raced with write (data already present).',
      type: 'counter',
    },
    {
      name: 'node_bcache_cache_misses_total',
      help: 'Misses counted per individual IO as bcache sees them.',
      type: 'counter',
    },
    {
      name: 'node_bcache_cache_read_races_total',
      help: 'Counts instances where while data was being read from the cache, the bucket was reused and invalidated - i.e. where the pointer was stale after the read completed.',
      type: 'counter',
    },
    {
      name: 'node_bcache_cache_readaheads_total',
      help: 'Count of times readahead occurred.',
      type: 'counter',
    },
    { name: 'node_bcache_congested', help: 'Congestion.', type: 'gauge' },
    {
      name: 'node_bcache_dirty_data_bytes',
      help: 'Amount of dirty data for this backing device in the cache.',
      type: 'gauge',
    },
    {
      name: 'node_bcache_dirty_target_bytes',
      help: 'Current dirty data target threshold for this backing device in bytes.',
      type: 'gauge',
    },
    {
      name: 'node_bcache_io_errors',
      help: 'Number of errors that have occurred, decayed by io_error_halflife.',
      type: 'gauge',
    },
    {
      name: 'node_bcache_metadata_written_bytes_total',
      help: 'Sum of all non data writes (btree writes and all other metadata).',
      type: 'counter',
    },
    {
      name: 'node_bcache_priority_stats_metadata_percent',
      help: "Bcache's metadata overhead.",
      type: 'gauge',
    },
    {
      name: 'node_bcache_priority_stats_unused_percent',
      help: "The percentage of the cache that doesn't contain any data.",
      type: 'gauge',
    },
    {
      name: 'node_bcache_root_usage_percent',
      help: 'Percentage of the root btree node in use (tree depth increases if too high).',
      type: 'gauge',
    },
    { name: 'node_bcache_tree_depth', help: 'Depth of the btree.', type: 'gauge' },
    {
      name: 'node_bcache_writeback_change',
      help: 'Last writeback rate change step for this backing device.',
      type: 'gauge',
    },
    {
      name: 'node_bcache_writeback_rate',
      help: 'Current writeback rate for this backing device in bytes.',
      type: 'gauge',
    },
    {
      name: 'node_bcache_writeback_rate_integral_term',
      help: 'Current result of integral controller, part of writeback rate',
      type: 'gauge',
    },
    {
      name: 'node_bcache_writeback_rate_proportional_term',
      help: 'Current result of proportional controller, part of writeback rate',
      type: 'gauge',
    },
    {
      name: 'node_bcache_written_bytes_total',
      help: 'Sum of all data that has been written to the cache.',
      type: 'counter',
    },
  ],
}
