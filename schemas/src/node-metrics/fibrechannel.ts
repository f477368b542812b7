import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/fibrechannel_linux.go. */
export const FIBRECHANNEL: MetricCatalogue = {
  collector: 'fibrechannel',
  metrics: [
    { name: 'node_fibrechannel_dumped_frames_total', help: 'Number of dumped frames', type: 'counter' },
    { name: 'node_fibrechannel_error_frames_total', help: 'Number of errors in frames', type: 'counter' },
    { name: 'node_fibrechannel_fcp_packet_aborts_total', help: 'Number of aborted packets', type: 'counter' },
    {
      name: 'node_fibrechannel_info',
      help: 'Non-numeric data from /sys/class/fc_host/<host>, value is always 1.',
      type: 'gauge',
    },
    {
      name: 'node_fibrechannel_invalid_crc_total',
      help: 'Invalid Cyclic Redundancy Check count',
      type: 'counter',
    },
    {
      name: 'node_fibrechannel_invalid_tx_words_total',
      help: 'Number of invalid words transmitted by host port',
      type: 'counter',
    },
    {
      name: 'node_fibrechannel_link_failure_total',
      help: 'Number of times the host port link has failed',
      type: 'counter',
    },
    {
      name: 'node_fibrechannel_loss_of_signal_total',
      help: 'Number of times signal has been lost',
      type: 'counter',
    },
    {
      name: 'node_fibrechannel_loss_of_sync_total',
      help: 'Number of failures on either bit or transmission word boundaries',
      type: 'counter',
    },
    {
      name: 'node_fibrechannel_nos_total',
      help: 'Number Not_Operational Primitive Sequence received by host port',
      type: 'counter',
    },
    { name: 'node_fibrechannel_rx_frames_total', help: 'Number of frames received', type: 'counter' },
    {
      name: 'node_fibrechannel_rx_words_total',
      help: 'Number of words received by host port',
      type: 'counter',
    },
    {
      name: 'node_fibrechannel_seconds_since_last_reset_total',
      help: 'Number of seconds since last host port reset',
      type: 'counter',
    },
    {
      name: 'node_fibrechannel_tx_frames_total',
      help: 'Number of frames transmitted by host port',
      type: 'counter',
    },
    {
      name: 'node_fibrechannel_tx_words_total',
      help: 'Number of words transmitted by host port',
      type: 'counter',
    },
  ],
}
