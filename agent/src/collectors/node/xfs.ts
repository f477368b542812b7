import { excerpt, forEachLine, parseInteger, tokenize } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

interface StatLine {
  /** How many values procfs accepts on the line; any other count is refused. */
  readonly counts: readonly number[]
  /** node_exporter's name (after `node_xfs_`) of each leading value it exports. */
  readonly names: readonly string[]
}

const btree = (prefix: string): StatLine => ({
  counts: [4],
  names: [
    `${prefix}_lookups_total`,
    `${prefix}_compares_total`,
    `${prefix}_records_inserted_total`,
    `${prefix}_records_deleted_total`,
  ],
})

/** The lines of an XFS stats file node_exporter exports, as procfs's xfs package parses them. */
const LINES: ReadonlyMap<string, StatLine> = new Map([
  [
    'extent_alloc',
    {
      counts: [4],
      names: [
        'extent_allocation_extents_allocated_total',
        'extent_allocation_blocks_allocated_total',
        'extent_allocation_extents_freed_total',
        'extent_allocation_blocks_freed_total',
      ],
    },
  ],
  ['abt', btree('allocation_btree')],
  [
    'blk_map',
    {
      counts: [7],
      names: [
        'block_mapping_reads_total',
        'block_mapping_writes_total',
        'block_mapping_unmaps_total',
        'block_mapping_extent_list_insertions_total',
        'block_mapping_extent_list_deletions_total',
        'block_mapping_extent_list_lookups_total',
        'block_mapping_extent_list_compares_total',
      ],
    },
  ],
  ['bmbt', btree('block_map_btree')],
  [
    'dir',
    {
      counts: [4],
      names: [
        'directory_operation_lookup_total',
        'directory_operation_create_total',
        'directory_operation_remove_total',
        'directory_operation_getdents_total',
      ],
    },
  ],
  [
    'ig',
    {
      counts: [7],
      names: [
        'inode_operation_attempts_total',
        'inode_operation_found_total',
        'inode_operation_recycled_total',
        'inode_operation_missed_total',
        'inode_operation_duplicates_total',
        'inode_operation_reclaims_total',
        'inode_operation_attribute_changes_total',
      ],
    },
  ],
  // The kernel counts writes first (xs_write_calls, xs_read_calls).
  ['rw', { counts: [2], names: ['write_calls_total', 'read_calls_total'] }],
  [
    'vnodes',
    {
      // Older kernels print no eighth value (free), which node_exporter does not export anyway.
      counts: [7, 8],
      names: [
        'vnode_active_total',
        'vnode_allocate_total',
        'vnode_get_total',
        'vnode_hold_total',
        'vnode_release_total',
        'vnode_reclaim_total',
        'vnode_remove_total',
      ],
    },
  ],
])

/**
 * Per-filesystem XFS statistics, /sys/fs/xfs/<device>/stats/stats (Linux 4.4+), as node_exporter's
 * xfs collector reads them. A line the kernel does not print counts as zeros, as procfs leaves
 * them; a line that does not parse is reported and its values left out.
 */
export const xfs: NodeCollector = {
  name: 'xfs',
  description: 'XFS runtime statistics per filesystem (/sys/fs/xfs/*/stats/stats)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'fs/xfs')
    return {
      collect: (emit) => {
        let devices: string[]
        try {
          devices = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const device of devices) {
          // Entries without stats/stats (the module-wide `stats` folder, `debug`) are no filesystem.
          const path = join(root, device, 'stats/stats')
          let text: string
          try {
            text = ctx.fs.readText(path)
          } catch (err) {
            if (isAbsent(err)) continue
            throw err
          }
          const values = new Map<string, number[] | undefined>()
          forEachLine(text, (start, end) => {
            const tokens = tokenize(text, start, end)
            const [label, ...rest] = tokens
            if (label === undefined || rest.length === 0) return
            const line = LINES.get(label)
            if (!line) return
            const numbers = rest.map(parseInteger)
            if (line.counts.includes(numbers.length) && numbers.every((n) => n !== undefined)) {
              values.set(label, numbers)
              return
            }
            ctx.problem(
              `${path}: expected ${line.counts.join(' or ')} numbers after ${label}, got ${excerpt(text.slice(start, end))}`,
            )
            values.set(label, undefined)
          })
          for (const [label, line] of LINES) {
            const numbers = values.has(label) ? values.get(label) : []
            if (numbers === undefined) continue
            line.names.forEach((name, i) => {
              emit(`node_xfs_${name}`, { device }, numbers[i] ?? 0)
            })
          }
        }
      },
    }
  },
}
