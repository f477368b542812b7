/**
 * The metric data model every producer and reader of series shares: a point is a Prometheus metric
 * name, its labels and a float64 value; a family's HELP and TYPE are declared once, in
 * node-exporter.ts (the typed families), agent-metrics.ts (the agent's own) and node-metrics/ (every
 * other collector).
 */

/** `untyped` is what node_exporter declares for the vmstat and netstat fields. */
export type MetricType = 'counter' | 'gauge' | 'untyped'

export type Labels = Readonly<Record<string, string>>

export interface MetricPoint {
  readonly name: string
  readonly labels: Labels
  readonly value: number
}

export interface MetricFamilyInfo {
  readonly name: string
  readonly help: string
  readonly type: MetricType
}

/** Receives one series value; labels is a fresh object the receiver may keep. */
export type EmitPoint = (name: string, labels: Record<string, string>, value: number) => void

/** A Prometheus metric name. */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
/** A Prometheus label name; names starting with `__` are Prometheus's own and never stored. */
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Labels every stored series is given when read (the host it came from, as node_exporter's scrape would). */
export const READ_LABELS: ReadonlySet<string> = new Set(['host', 'instance', 'job'])

/** A label name a collector may store: Prometheus's rules, not Prometheus's own `__` names, not one of READ_LABELS. */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith('__') && !READ_LABELS.has(name)
}
