import type { MetricCatalogue } from './index.ts'

const NAME = /^node_sockstat_([A-Za-z0-9]+)_(inuse|orphan|tw|alloc|mem|memory|mem_bytes)$/

/**
 * node_exporter collector/sockstat_linux.go: node_sockstat_<PROTO>_<state> for every protocol line of
 * /proc/net/sockstat and sockstat6, all gauges.
 */
export const SOCKSTAT: MetricCatalogue = {
  collector: 'sockstat',
  metrics: [{ name: 'node_sockstat_sockets_used', help: 'Number of IPv4 sockets in use.', type: 'gauge' }],
  dynamic: (name) => {
    const m = NAME.exec(name)
    if (!m) return undefined
    return { name, help: `Number of ${m[1] ?? ''} sockets in state ${m[2] ?? ''}.`, type: 'gauge' }
  },
}
