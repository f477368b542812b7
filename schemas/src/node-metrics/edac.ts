import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/edac_linux.go. */
export const EDAC: MetricCatalogue = {
  collector: 'edac',
  minDefaultIntervalMs: 10_000,
  metrics: [
    { name: 'node_edac_correctable_errors_total', help: 'Total correctable memory errors.', type: 'counter' },
    {
      name: 'node_edac_uncorrectable_errors_total',
      help: 'Total uncorrectable memory errors.',
      type: 'counter',
    },
    {
      name: 'node_edac_csrow_correctable_errors_total',
      help: 'Total correctable memory errors for this csrow.',
      type: 'counter',
    },
    {
      name: 'node_edac_csrow_uncorrectable_errors_total',
      help: 'Total uncorrectable memory errors for this csrow.',
      type: 'counter',
    },
    {
      name: 'node_edac_channel_correctable_errors_total',
      help: 'Total correctable memory errors for this channel.',
      type: 'counter',
    },
    {
      name: 'node_edac_channel_uncorrectable_errors_total',
      help: 'Total uncorrectable memory errors for this channel.',
      type: 'counter',
    },
  ],
}
