import type { MetricCatalogue } from './index.ts'

/** node_exporter collector/os_release.go. */
export const OS: MetricCatalogue = {
  collector: 'os',
  minDefaultIntervalMs: 60_000,
  metrics: [
    {
      name: 'node_os_info',
      help: "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
      type: 'gauge',
    },
    {
      name: 'node_os_version',
      help: 'Metric containing the major.minor part of the OS version.',
      type: 'gauge',
    },
    {
      name: 'node_os_support_end_timestamp_seconds',
      help: 'Metric containing the end-of-life date timestamp of the OS.',
      type: 'gauge',
    },
  ],
}
