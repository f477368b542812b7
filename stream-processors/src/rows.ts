import { sampleName, type Envelope } from '../../schemas/src/families.ts'
import { samplePoints } from '../../schemas/src/node-exporter.ts'

/** Rows in the column order of metrics_raw and sample_log (see schemas/clickhouse/ddl.ts). */
export type RawRow = [tenant: string, metric: string, host: string, labels: string, ts: string, value: number]
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
]

export interface RowBatch {
  raw: RawRow[]
  log: SampleLogRow[]
}

export function newRowBatch(): RowBatch {
  return { raw: [], log: [] }
}

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

/** Why an envelope's rows were not appended (see admission.ts for the catalogue). */
export interface RowRefusal {
  reason: 'NON_FINITE_VALUE' | 'TOO_MANY_SERIES'
  detail: string
}

/**
 * Appends an envelope's metric rows and its sample-log row, all or nothing. Nothing is appended when
 * a value is NaN or ±Inf (JSON cannot carry it and it would poison every rollup) or when the envelope
 * holds more than `maxSeries` series (a cardinality bomb: a record with a million interfaces), and
 * the reason is returned for the caller to dead-letter the envelope.
 */
export function appendEnvelopeRows(
  batch: RowBatch,
  env: Envelope,
  tenant: string,
  kafka: { partition: number; offset: string },
  maxSeries = Number.POSITIVE_INFINITY,
): RowRefusal | undefined {
  const ts = microsToDateTime64(env.ts_us)
  const rows: RawRow[] = []
  let refusal: RowRefusal | undefined
  const emit = (name: string, labels: Readonly<Record<string, string>>, value: number): void => {
    if (refusal) return
    if (!Number.isFinite(value)) {
      refusal = { reason: 'NON_FINITE_VALUE', detail: `${name}${canonicalLabels(labels)} = ${String(value)}` }
      return
    }
    if (rows.length >= maxSeries) {
      refusal = {
        reason: 'TOO_MANY_SERIES',
        detail: `more than ${String(maxSeries)} series in one ${sampleName(env.sample)} sample`,
      }
      return
    }
    rows.push([tenant, name, env.host_id, canonicalLabels(labels), ts, value])
  }
  samplePoints(env.sample, emit)
  if (refusal) return refusal
  for (const r of rows) batch.raw.push(r)
  const points = rows.length
  batch.log.push([
    tenant,
    env.host_id,
    env.hostname,
    env.agent_id,
    env.seq,
    // The collector for a `metrics` record, so the log says netstat or hwmon, not the record type.
    sampleName(env.sample),
    ts,
    points,
    kafka.partition,
    kafka.offset,
  ])
  return undefined
}
