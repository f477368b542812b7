import type { Sample } from '#schemas/src/families.ts'
import { metricInfo, samplePoints, type EmitPoint, type MetricPoint } from '#schemas/src/node-exporter.ts'
import { formatMetricPoints as formatPoints } from '#platform/prometheus-text.ts'

/**
 * Prometheus text exposition format 0.0.4, laid out as node_exporter's /metrics is (client_golang):
 * metric names sorted, `# HELP` and `# TYPE` once per name, series of a name sorted by their label
 * values with labels in name order, values printed like Go. Output for the same /proc input can
 * therefore be diffed line by line against node_exporter's.
 */
export function formatPrometheus(samples: Iterable<Sample>): string {
  const points: MetricPoint[] = []
  const collect: EmitPoint = (name, labels, value) => {
    points.push({ name, labels, value })
  }
  for (const sample of samples) samplePoints(sample, collect)
  return formatMetricPoints(points)
}

/** Any points, with node_exporter's (and the agent's own) HELP and TYPE where the name is known. */
export function formatMetricPoints(points: Iterable<MetricPoint>): string {
  return formatPoints(points, metricInfo)
}

export { escapeLabelValue } from '#platform/prometheus-text.ts'
