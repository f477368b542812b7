/**
 * The ClickHouse row contract: what the processors write and the query API, the tools and the tests
 * read back. Kept here, not in a component, because a spelling that differed between writer and reader
 * would split one series in two (canonicalLabels feeds the series id, series-id.ts).
 */

/** A sample-log row in the column order of sample_log (see schemas/clickhouse/ddl.ts). */
export type SampleLogRow = [
  tenant: string,
  host: string,
  hostname: string,
  agent_id: string,
  seq: number,
  family: string,
  ts: string,
  points: number,
  kafka_partition: number,
  kafka_offset: string,
  kafka_topic: string,
]

/** A point as one tuple, in the column order of the wide shape (schemas/clickhouse/wide.ts). */
export type WidePoint = [
  tenant: string,
  metric: string,
  host: string,
  labels: string,
  tsUs: number,
  value: number,
]

/** DateTime64(6) literal from microseconds, exact (no float rounding of 16-digit numbers). */
export function microsToDateTime64(us: number): string {
  const secs = Math.floor(us / 1_000_000)
  const frac = us - secs * 1_000_000
  return `${secs}.${String(frac).padStart(6, '0')}`
}

/** The inverse of microsToDateTime64: a `secs.micros` literal back to microseconds, exactly. */
export function dateTime64ToMicros(literal: string): number {
  const [secs = '0', frac = '0'] = literal.split('.')
  return Number(secs) * 1_000_000 + Number(frac.padEnd(6, '0'))
}

/**
 * Labels as one canonical string: a JSON object with keys sorted, so one series has one spelling.
 * A label with an empty value is left out, as Prometheus does on ingestion ("equivalent to a label
 * that does not exist"): node_exporter prints `devices=""` on an interrupt with no device, and a
 * selector or a join on that label must see the same series as over Prometheus.
 */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).filter((k) => labels[k] !== '')
  if (keys.length === 0) return '{}'
  keys.sort()
  const sorted: Record<string, string> = {}
  for (const k of keys) sorted[k] = labels[k] ?? ''
  return JSON.stringify(sorted)
}
