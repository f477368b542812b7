import type { MetricFamilyInfo } from '../metric-model.ts'
import type { MetricCatalogue } from './index.ts'

/** The /sys/class/net properties node_exporter exports as node_network_<property>, and whether each is a counter. */
const PROPERTIES: readonly (readonly [property: string, counter: boolean])[] = [
  ['address_assign_type', false],
  ['carrier', false],
  ['carrier_changes_total', true],
  ['carrier_up_changes_total', true],
  ['carrier_down_changes_total', true],
  ['device_id', false],
  ['dormant', false],
  ['flags', false],
  ['iface_id', false],
  ['iface_link', false],
  ['iface_link_mode', false],
  ['mtu_bytes', false],
  ['net_dev_group', false],
  ['name_assign_type', false],
  ['speed_bytes', false],
  ['transmit_queue_length', false],
  ['protocol_type', false],
]

/**
 * node_exporter collector/netclass_linux.go (sysfs mode). The /proc/net/dev counters
 * (node_network_{receive,transmit}_*_total) are the typed netdev family's, not these.
 */
export const NETCLASS: MetricCatalogue = {
  collector: 'netclass',
  metrics: [
    { name: 'node_network_up', help: "Value is 1 if operstate is 'up', 0 otherwise.", type: 'gauge' },
    {
      name: 'node_network_info',
      help: 'Non-numeric data from /sys/class/net/<iface>, value is always 1.',
      type: 'gauge',
    },
    ...PROPERTIES.map(([property, counter]): MetricFamilyInfo => ({
      name: `node_network_${property}`,
      help: `Network device property: ${property}`,
      type: counter ? 'counter' : 'gauge',
    })),
  ],
}
