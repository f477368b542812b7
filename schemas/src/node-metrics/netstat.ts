import type { MetricCatalogue } from './index.ts'

const NAME = /^node_netstat_([A-Za-z0-9]+)_(\w+)$/

/**
 * node_exporter collector/netstat_linux.go: one untyped name per `<Proto>_<Field>` of
 * /proc/net/netstat, snmp and snmp6 (the protocol names have no `_`, so the first one splits).
 */
export const NETSTAT: MetricCatalogue = {
  collector: 'netstat',
  metrics: [],
  dynamic: (name) => {
    const m = NAME.exec(name)
    if (!m) return undefined
    return { name, help: `Statistic ${m[1] ?? ''}${m[2] ?? ''}.`, type: 'untyped' }
  },
}
