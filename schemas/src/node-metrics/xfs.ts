import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/xfs_linux.go (names and text after the XFS wiki's Runtime_Stats page). */
export const XFS: MetricCatalogue = {
  collector: 'xfs',
  metrics: [
    {
      name: 'node_xfs_allocation_btree_compares_total',
      help: 'Number of allocation B-tree compares for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_allocation_btree_lookups_total',
      help: 'Number of allocation B-tree lookups for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_allocation_btree_records_deleted_total',
      help: 'Number of allocation B-tree records deleted for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_allocation_btree_records_inserted_total',
      help: 'Number of allocation B-tree records inserted for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_map_btree_compares_total',
      help: 'Number of block map B-tree compares for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_map_btree_lookups_total',
      help: 'Number of block map B-tree lookups for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_map_btree_records_deleted_total',
      help: 'Number of block map B-tree records deleted for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_map_btree_records_inserted_total',
      help: 'Number of block map B-tree records inserted for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_mapping_extent_list_compares_total',
      help: 'Number of extent list compares for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_mapping_extent_list_deletions_total',
      help: 'Number of extent list deletions for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_mapping_extent_list_insertions_total',
      help: 'Number of extent list insertions for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_mapping_extent_list_lookups_total',
      help: 'Number of extent list lookups for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_mapping_reads_total',
      help: 'Number of block map for read operations for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_mapping_unmaps_total',
      help: 'Number of block unmaps (deletes) for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_block_mapping_writes_total',
      help: 'Number of block map for write operations for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_directory_operation_create_total',
      help: 'Number of times a new directory entry was created for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_directory_operation_getdents_total',
      help: 'Number of times the directory getdents operation was performed for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_directory_operation_lookup_total',
      help: 'Number of file name directory lookups which miss the operating systems directory name lookup cache.',
      type: 'counter',
    },
    {
      name: 'node_xfs_directory_operation_remove_total',
      help: 'Number of times an existing directory entry was created for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_extent_allocation_blocks_allocated_total',
      help: 'Number of blocks allocated for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_extent_allocation_blocks_freed_total',
      help: 'Number of blocks freed for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_extent_allocation_extents_allocated_total',
      help: 'Number of extents allocated for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_extent_allocation_extents_freed_total',
      help: 'Number of extents freed for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_inode_operation_attempts_total',
      help: 'Number of times the OS looked for an XFS inode in the inode cache.',
      type: 'counter',
    },
    {
      name: 'node_xfs_inode_operation_attribute_changes_total',
      help: 'Number of times the OS explicitly changed the attributes of an XFS inode.',
      type: 'counter',
    },
    {
      name: 'node_xfs_inode_operation_duplicates_total',
      help: 'Number of times the OS tried to add a missing XFS inode to the inode cache, but found it had already been added by another process.',
      type: 'counter',
    },
    {
      name: 'node_xfs_inode_operation_found_total',
      help: 'Number of times the OS looked for and found an XFS inode in the inode cache.',
      type: 'counter',
    },
    {
      name: 'node_xfs_inode_operation_missed_total',
      help: 'Number of times the OS looked for an XFS inode in the cache, but did not find it.',
      type: 'counter',
    },
    {
      name: 'node_xfs_inode_operation_reclaims_total',
      help: 'Number of times the OS reclaimed an XFS inode from the inode cache to free memory for another purpose.',
      type: 'counter',
    },
    {
      name: 'node_xfs_inode_operation_recycled_total',
      help: 'Number of times the OS found an XFS inode in the cache, but could not use it as it was being recycled.',
      type: 'counter',
    },
    {
      name: 'node_xfs_read_calls_total',
      help: 'Number of read(2) system calls made to files in a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_vnode_active_total',
      help: 'Number of vnodes not on free lists for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_vnode_allocate_total',
      help: 'Number of times vn_alloc called for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_vnode_get_total',
      help: 'Number of times vn_get called for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_vnode_hold_total',
      help: 'Number of times vn_hold called for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_vnode_reclaim_total',
      help: 'Number of times vn_reclaim called for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_vnode_release_total',
      help: 'Number of times vn_rele called for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_vnode_remove_total',
      help: 'Number of times vn_remove called for a filesystem.',
      type: 'counter',
    },
    {
      name: 'node_xfs_write_calls_total',
      help: 'Number of write(2) system calls made to files in a filesystem.',
      type: 'counter',
    },
  ],
}
