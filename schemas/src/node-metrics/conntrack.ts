import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/conntrack_linux.go. */
export const CONNTRACK: MetricCatalogue = {
  collector: 'conntrack',
  metrics: [
    {
      name: 'node_nf_conntrack_entries',
      help: 'Number of currently allocated flow entries for connection tracking.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_entries_limit',
      help: 'Maximum size of connection tracking table.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_stat_found',
      help: 'Number of searched entries which were successful.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_stat_invalid',
      help: 'Number of packets seen which can not be tracked.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_stat_ignore',
      help: 'Number of packets seen which are already connected to a conntrack entry.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_stat_insert',
      help: 'Number of entries inserted into the list.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_stat_insert_failed',
      help: 'Number of entries for which list insertion was attempted but failed.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_stat_drop',
      help: 'Number of packets dropped due to conntrack failure.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_stat_early_drop',
      help: 'Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.',
      type: 'gauge',
    },
    {
      name: 'node_nf_conntrack_stat_search_restart',
      help: 'Number of conntrack table lookups which had to be restarted due to hashtable resizes.',
      type: 'gauge',
    },
  ],
}
