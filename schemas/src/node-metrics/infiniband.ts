import type { MetricFamilyInfo } from '../metric-model.ts'
import type { MetricCatalogue } from './index.ts'

/** node_infiniband_<metric> gauges of a port, and their HELP. */
const GAUGES: readonly (readonly [metric: string, help: string])[] = [
  [
    'physical_state_id',
    'Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)',
  ],
  ['rate_bytes_per_second', 'Maximum signal transfer rate'],
  [
    'state_id',
    'State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)',
  ],
]

/** node_infiniband_<metric> counters of a port, and their HELP (node_exporter's text, its typos kept). */
const COUNTERS: readonly (readonly [metric: string, help: string])[] = [
  ['legacy_multicast_packets_received_total', 'Number of multicast packets received'],
  ['legacy_multicast_packets_transmitted_total', 'Number of multicast packets transmitted'],
  ['legacy_data_received_bytes_total', 'Number of data octets received on all links'],
  ['legacy_packets_received_total', 'Number of data packets received on all links'],
  ['legacy_unicast_packets_received_total', 'Number of unicast packets received'],
  ['legacy_unicast_packets_transmitted_total', 'Number of unicast packets transmitted'],
  ['legacy_data_transmitted_bytes_total', 'Number of data octets transmitted on all links'],
  ['legacy_packets_transmitted_total', 'Number of data packets received on all links'],
  [
    'excessive_buffer_overrun_errors_total',
    'Number of times that OverrunErrors consecutive flow control update periods occurred, each having at least one overrun error.',
  ],
  ['link_downed_total', 'Number of times the link failed to recover from an error state and went down'],
  ['link_error_recovery_total', 'Number of times the link successfully recovered from an error state'],
  [
    'local_link_integrity_errors_total',
    'Number of times that the count of local physical errors exceeded the threshold specified by LocalPhyErrors.',
  ],
  ['multicast_packets_received_total', 'Number of multicast packets received (including errors)'],
  ['multicast_packets_transmitted_total', 'Number of multicast packets transmitted (including errors)'],
  [
    'port_constraint_errors_received_total',
    'Number of packets received on the switch physical port that are discarded',
  ],
  [
    'port_constraint_errors_transmitted_total',
    'Number of packets not transmitted from the switch physical port',
  ],
  ['port_data_received_bytes_total', 'Number of data octets received on all links'],
  ['port_data_transmitted_bytes_total', 'Number of data octets transmitted on all links'],
  [
    'port_discards_received_total',
    'Number of inbound packets discarded by the port because the port is down or congested',
  ],
  [
    'port_discards_transmitted_total',
    'Number of outbound packets discarded by the port because the port is down or congested',
  ],
  ['port_errors_received_total', 'Number of packets containing an error that were received on this port'],
  ['port_packets_received_total', 'Number of packets received on all VLs by this port (including errors)'],
  [
    'port_packets_transmitted_total',
    'Number of packets transmitted on all VLs from this port (including errors)',
  ],
  [
    'port_transmit_wait_total',
    'Number of ticks during which the port had data to transmit but no data was sent during the entire tick',
  ],
  ['unicast_packets_received_total', 'Number of unicast packets received (including errors)'],
  ['unicast_packets_transmitted_total', 'Number of unicast packets transmitted (including errors)'],
  [
    'port_receive_remote_physical_errors_total',
    'Number of packets marked with the EBP (End of Bad Packet) delimiter received on the port.',
  ],
  ['port_receive_switch_relay_errors_total', 'Number of packets that could not be forwarded by the switch.'],
  ['symbol_error_total', 'Number of minor link errors detected on one or more physical lanes.'],
  ['vl15_dropped_total', 'Number of incoming VL15 packets dropped due to resource limitations.'],
]

/** node_exporter collector/infiniband_linux.go. */
export const INFINIBAND: MetricCatalogue = {
  collector: 'infiniband',
  metrics: [
    {
      name: 'node_infiniband_info',
      help: 'Non-numeric data from /sys/class/infiniband/<device>, value is always 1.',
      type: 'gauge',
    },
    ...GAUGES.map(([metric, help]): MetricFamilyInfo => ({
      name: `node_infiniband_${metric}`,
      help,
      type: 'gauge',
    })),
    ...COUNTERS.map(([metric, help]): MetricFamilyInfo => ({
      name: `node_infiniband_${metric}`,
      help,
      type: 'counter',
    })),
  ],
}
