import type avro from 'avsc'
import type { ConfigReader, Setting } from '#platform/config.ts'
import { FAMILY_RECORD, type Envelope } from './families.ts'
import { isLabelName, METRIC_NAME } from './metric-model.ts'
import type { MetricsSample } from './records.ts'

/**
 * What a record must satisfy to be stored, declared once: the ingest gateway refuses a record that
 * fails it at the door (400/413, naming the record and the field), and the stream processor, which
 * also reads what agents produce straight to Kafka, dead-letters it. Both judge the same record the
 * same way, so a record the gateway answered 202 for is never refused later.
 *
 * | reason                  | what is wrong                                                          |
 * | ----------------------- | ---------------------------------------------------------------------- |
 * | RECORD_TOO_LARGE        | the record is over MAX_RECORD_BYTES: it could not travel in one Kafka  |
 * |                         | message under the broker's default message.max.bytes                   |
 * | NON_FINITE_VALUE        | a number is NaN or ±Infinity (an overlong varint decodes to Infinity)   |
 * | VALUE_OUT_OF_RANGE      | a value does not fit its reader type exactly (an int beyond 32 bits, a  |
 * |                         | long beyond ±(2^53 − 1), a fraction in an integer), an interval_ms     |
 * |                         | outside [MIN_INTERVAL_MS, MAX_INTERVAL_MS], a host_id not 1–255 chars  |
 * | TIMESTAMP_OUT_OF_BOUNDS | ts_us is more than the max age before or the max lead after the         |
 * |                         | reference time (the gateway's clock, which it also writes as the Kafka  |
 * |                         | message timestamp the processor judges against)                         |
 * | INVALID_NAME            | in a `metrics` record: a collector, metric or label name Prometheus     |
 * |                         | would not accept (or a label `__*`, host, instance, job), a name twice, |
 * |                         | or more labels or longer names and values than METRICS_BOUNDS allows    |
 */
export type AdmissionReason =
  'RECORD_TOO_LARGE' | 'NON_FINITE_VALUE' | 'VALUE_OUT_OF_RANGE' | 'TIMESTAMP_OUT_OF_BOUNDS' | 'INVALID_NAME'

export interface AdmissionRefusal {
  reason: AdmissionReason
  /** The field at fault as a path into the envelope (`sample.cpus[3].user`), or `record` for its size. */
  field: string
  detail: string
}

/**
 * The largest record, single-object encoded. A record travels in one Kafka message; the broker's
 * default `message.max.bytes` (1,048,588 bytes) bounds a whole record batch after compression, and an
 * incompressible record does not shrink, so 900 KiB leaves room for batch and record headers. The
 * gateway also packs a host's records into messages of at most this size and bounds each produce
 * request by it, so no partition's batch can pass the broker's limit.
 */
export const MAX_RECORD_BYTES = 900 * 1024

/** The agent's sampling interval bounds (agent/src/schedule.ts re-exports them). */
export const MIN_INTERVAL_MS = 10
/** Slow families (filesystem sizes, say) may be asked for every few minutes, live or by flag. */
export const MAX_INTERVAL_MS = 300_000

/** host_id is part of the Kafka key and of every row's sort key. */
const MAX_HOST_ID_CHARS = 255

/**
 * A long is a JavaScript number downstream (rows, JSON, ClickHouse inserts): beyond ±(2^53−1) a
 * double cannot hold it exactly, so it would be stored as another number. The codec decodes exactly
 * within that range (schemas/src/exact-long.ts); beyond it the record is refused, never changed.
 */
const LONG_LIMIT = Number.MAX_SAFE_INTEGER
const INT_MIN = -(2 ** 31)
const INT_MAX = 2 ** 31 - 1

export interface AdmissionBounds {
  /** How far before the reference time a sample may lie (a spool replaying an outage). */
  maxAgeMs: number
  /** How far after it (clock skew between a host and the gateway or broker). */
  maxLeadMs: number
}

/**
 * Declared here (platform/config.ts) because the processor and the gateway both read them, through
 * the functions below.
 */
const RAW_TTL_DAYS = {
  env: 'RAW_TTL_DAYS',
  type: 'int',
  default: 7,
  min: 1,
  max: 3650,
  meaning: 'retention of raw rows and the sample log, in days',
} as const satisfies Setting

export const ADMISSION_SETTINGS = {
  rawTtlDays: RAW_TTL_DAYS,
  // Default: the raw retention, computed when read. Older than it would be deleted on arrival; a
  // spool replaying a long outage fits.
  maxSampleAgeS: {
    env: 'PROCESSOR_MAX_SAMPLE_AGE_S',
    type: 'int',
    default: RAW_TTL_DAYS.default * 86_400,
    min: 60,
    max: 3650 * 86_400,
    meaning: 'oldest a sample may be relative to its Kafka message',
  },
  maxSampleLeadS: {
    env: 'PROCESSOR_MAX_SAMPLE_LEAD_S',
    type: 'int',
    default: 300,
    min: 1,
    max: 86_400,
    meaning: 'how far ahead of its Kafka message a sample may be',
  },
} as const satisfies Record<string, Setting>

/**
 * PROCESSOR_MAX_SAMPLE_AGE_S (default: the raw retention, RAW_TTL_DAYS) and PROCESSOR_MAX_SAMPLE_LEAD_S
 * (default 300), read the same way by the processor and the gateway so both apply the same bounds.
 */
export function readAdmissionBounds(r: ConfigReader, rawTtlDays: number): AdmissionBounds {
  const S = ADMISSION_SETTINGS
  return {
    maxAgeMs: r.int({ ...S.maxSampleAgeS, default: rawTtlDays * 86_400 }) * 1000,
    maxLeadMs: r.int(S.maxSampleLeadS) * 1000,
  }
}

/** RAW_TTL_DAYS as the processor reads it (stream-processors/src/config.ts): the default of the max age. */
export function readRawTtlDays(r: ConfigReader): number {
  return r.int(ADMISSION_SETTINGS.rawTtlDays)
}

/** A value's problem, with the path from the value checked down to the field at fault. */
interface Fault {
  reason: AdmissionReason
  path: string[]
  detail: string
}
type Check = (value: unknown) => Fault | undefined

/** The parts of avsc's composite types the rule reads (avsc's classes, by their shape). */
interface RecordShape {
  readonly fields: readonly { readonly name: string; readonly type: avro.Type }[]
}
interface ArrayShape {
  readonly itemsType: avro.Type
}
interface MapShape {
  readonly valuesType: avro.Type
}
interface EnumShape {
  readonly symbols: readonly string[]
}
interface UnionShape {
  readonly types: readonly avro.Type[]
}

/**
 * The rule, compiled once against the reader schema (the one every record is resolved to), so each
 * record costs one walk over its values.
 */
export class AdmissionRule {
  private readonly samples = new Map<string, Check>()
  private readonly fields: { name: string; check: Check }[] = []

  constructor(
    readerType: avro.Type,
    readonly bounds: AdmissionBounds,
  ) {
    const envelope = readerType as unknown as RecordShape
    for (const f of envelope.fields) {
      if (f.name === 'sample') {
        for (const branch of (f.type as unknown as UnionShape).types)
          if (branch.name !== undefined) this.samples.set(branch.name, compile(branch))
      } else this.fields.push({ name: f.name, check: compile(f.type) })
    }
  }

  /**
   * Why the record cannot be stored, or undefined when it can. `recordBytes` is its single-object
   * encoded size; `referenceMs` the time the sample is judged against (the gateway's clock, which
   * becomes the Kafka message timestamp; for the processor, that message timestamp).
   */
  check(env: Envelope, recordBytes: number, referenceMs: number): AdmissionRefusal | undefined {
    if (recordBytes > MAX_RECORD_BYTES)
      return {
        reason: 'RECORD_TOO_LARGE',
        field: 'record',
        detail: `the record is ${String(recordBytes)} bytes, over the ${String(MAX_RECORD_BYTES)} a Kafka message can carry`,
      }
    const wire = env as unknown as Record<string, unknown>
    for (const { name, check } of this.fields) {
      const fault = check(wire[name])
      if (fault) return refusal(fault, [name])
    }
    const recordName = FAMILY_RECORD[env.sample.family] as string | undefined
    const sample = recordName === undefined ? undefined : this.samples.get(recordName)
    if (!sample)
      return {
        reason: 'VALUE_OUT_OF_RANGE',
        field: 'sample',
        detail: `unknown family ${JSON.stringify(env.sample.family)}`,
      }
    const fault =
      sample(env.sample.data) ?? (env.sample.family === 'metrics' ? metricsFault(env.sample.data) : undefined)
    if (fault) return refusal(fault, ['sample'])
    if (env.host_id.length === 0 || env.host_id.length > MAX_HOST_ID_CHARS)
      return {
        reason: 'VALUE_OUT_OF_RANGE',
        field: 'host_id',
        detail: `host_id must be 1–${String(MAX_HOST_ID_CHARS)} characters, not ${String(env.host_id.length)}`,
      }
    if (env.interval_ms < MIN_INTERVAL_MS || env.interval_ms > MAX_INTERVAL_MS)
      return {
        reason: 'VALUE_OUT_OF_RANGE',
        field: 'interval_ms',
        detail: `interval_ms ${String(env.interval_ms)} is outside the agent's ${String(MIN_INTERVAL_MS)}–${String(MAX_INTERVAL_MS)} ms`,
      }
    const tsMs = env.ts_us / 1000
    const { maxAgeMs, maxLeadMs } = this.bounds
    if (!(tsMs >= referenceMs - maxAgeMs && tsMs <= referenceMs + maxLeadMs))
      return {
        reason: 'TIMESTAMP_OUT_OF_BOUNDS',
        field: 'ts_us',
        detail: `sample time ${iso(tsMs)} is outside [-${String(maxAgeMs / 1000)} s, +${String(maxLeadMs / 1000)} s] of ${iso(referenceMs)}`,
      }
    return undefined
  }
}

/**
 * Bounds on what a `metrics` record names. node_exporter's longest names are under 80 characters and
 * its label values (a CPU model, a DMI product name, a udev serial) under 200; the bounds leave room
 * and keep one record from making thousands of distinct long strings the sort key carries.
 */
export const METRICS_BOUNDS = {
  collectorChars: 64,
  nameChars: 200,
  labelsPerSeries: 32,
  labelValueChars: 1024,
} as const
const COLLECTOR_NAME = /^[a-z][a-z0-9_]*$/

/** Names a stored series keeps for good, so they are held to Prometheus's rules before anything is stored. */
function metricsFault(sample: MetricsSample): Fault | undefined {
  const b = METRICS_BOUNDS
  if (!COLLECTOR_NAME.test(sample.collector) || sample.collector.length > b.collectorChars)
    return invalid(
      ['collector'],
      `collector name must be [a-z][a-z0-9_]*, at most ${String(b.collectorChars)} characters`,
    )
  const seen = new Set<string>()
  for (let i = 0; i < sample.metrics.length; i++) {
    const m = sample.metrics[i]
    if (m === undefined) continue
    const at = ['metrics', `[${String(i)}]`]
    if (!METRIC_NAME.test(m.name) || m.name.length > b.nameChars)
      return invalid(
        [...at, 'name'],
        `${JSON.stringify(m.name.slice(0, 80))} is not a Prometheus metric name of at most ${String(b.nameChars)} characters`,
      )
    if (seen.has(m.name)) return invalid([...at, 'name'], `${m.name} is given twice in one record`)
    seen.add(m.name)
    for (let j = 0; j < m.series.length; j++) {
      const labels = m.series[j]?.labels ?? {}
      const names = Object.keys(labels)
      const where = [...at, 'series', `[${String(j)}]`, 'labels']
      if (names.length > b.labelsPerSeries)
        return invalid(where, `${String(names.length)} labels; at most ${String(b.labelsPerSeries)}`)
      for (const name of names) {
        if (!isLabelName(name) || name.length > b.nameChars)
          return invalid(
            where,
            `${JSON.stringify(name.slice(0, 80))} is not a label a collector may store (Prometheus's rules, not starting with __, not host, instance or job)`,
          )
        if ((labels[name] ?? '').length > b.labelValueChars)
          return invalid(
            [...where, `[${JSON.stringify(name)}]`],
            `longer than ${String(b.labelValueChars)} characters`,
          )
      }
    }
  }
  return undefined
}

function invalid(path: string[], detail: string): Fault {
  return { reason: 'INVALID_NAME', path, detail }
}

function refusal(fault: Fault, prefix: string[]): AdmissionRefusal {
  const field = [...prefix, ...fault.path].join('.').replace(/\.\[/g, '[')
  return { reason: fault.reason, field, detail: `${field}: ${fault.detail}` }
}

function compile(type: avro.Type): Check {
  const name = type.typeName
  switch (name) {
    case 'int':
      return (v) => integer(v, INT_MIN, INT_MAX, 'int')
    case 'long':
      return (v) => integer(v, -LONG_LIMIT, LONG_LIMIT, 'long')
    case 'float':
    case 'double':
      return (v) =>
        typeof v === 'number' && Number.isFinite(v)
          ? undefined
          : { reason: 'NON_FINITE_VALUE', path: [], detail: `${String(v)} is not a finite number` }
    case 'string':
      return (v) =>
        typeof v === 'string' ? undefined : { reason: 'VALUE_OUT_OF_RANGE', path: [], detail: 'not a string' }
    case 'boolean':
    case 'null':
      return () => undefined
    case 'enum': {
      const symbols = new Set((type as unknown as EnumShape).symbols)
      return (v) =>
        typeof v === 'string' && symbols.has(v)
          ? undefined
          : { reason: 'VALUE_OUT_OF_RANGE', path: [], detail: `not one of ${[...symbols].join(', ')}` }
    }
    case 'record': {
      const fields = (type as unknown as RecordShape).fields.map((f) => ({
        name: f.name,
        check: compile(f.type),
      }))
      return (v) => {
        if (typeof v !== 'object' || v === null)
          return { reason: 'VALUE_OUT_OF_RANGE', path: [], detail: 'not a record' }
        const rec = v as Record<string, unknown>
        for (const f of fields) {
          const fault = f.check(rec[f.name])
          if (fault) return { ...fault, path: [f.name, ...fault.path] }
        }
        return undefined
      }
    }
    case 'array': {
      const item = compile((type as unknown as ArrayShape).itemsType)
      return (v) => {
        if (!Array.isArray(v)) return { reason: 'VALUE_OUT_OF_RANGE', path: [], detail: 'not an array' }
        for (let i = 0; i < v.length; i++) {
          const fault = item(v[i])
          if (fault) return { ...fault, path: [`[${String(i)}]`, ...fault.path] }
        }
        return undefined
      }
    }
    case 'map': {
      const value = compile((type as unknown as MapShape).valuesType)
      return (v) => {
        if (typeof v !== 'object' || v === null)
          return { reason: 'VALUE_OUT_OF_RANGE', path: [], detail: 'not a map' }
        for (const [k, x] of Object.entries(v)) {
          const fault = value(x)
          if (fault) return { ...fault, path: [`[${JSON.stringify(k)}]`, ...fault.path] }
        }
        return undefined
      }
    }
    case 'union:unwrapped': {
      // The schemas' only unwrapped unions are ["null", T]: null, or a value of T.
      const branches = (type as unknown as UnionShape).types
      const nonNull = branches.filter((t) => t.typeName !== 'null').map(compile)
      const nullable = nonNull.length < branches.length
      return (v) => {
        if (v === null || v === undefined)
          return nullable ? undefined : { reason: 'VALUE_OUT_OF_RANGE', path: [], detail: 'missing' }
        let first: Fault | undefined
        for (const check of nonNull) {
          const fault = check(v)
          if (!fault) return undefined
          first ??= fault
        }
        return first
      }
    }
    default:
      // A type this rule does not know (a schema evolved without it): fail closed, naming it.
      return () => ({
        reason: 'VALUE_OUT_OF_RANGE',
        path: [],
        detail: `no admission rule for Avro type ${name}`,
      })
  }
}

function integer(v: unknown, min: number, max: number, type: string): Fault | undefined {
  if (typeof v !== 'number' || Number.isNaN(v))
    return { reason: 'VALUE_OUT_OF_RANGE', path: [], detail: `${String(v)} is not a number` }
  if (!Number.isFinite(v))
    return { reason: 'NON_FINITE_VALUE', path: [], detail: `${String(v)} is not finite` }
  if (!Number.isInteger(v))
    return { reason: 'VALUE_OUT_OF_RANGE', path: [], detail: `${String(v)} is not a whole number (${type})` }
  if (v < min || v > max)
    return {
      reason: 'VALUE_OUT_OF_RANGE',
      path: [],
      detail:
        type === 'long'
          ? `${String(v)} is beyond ±(2^53 − 1), the range a long is stored exactly in`
          : `${String(v)} does not fit ${type} (${String(min)} to ${String(max)})`,
    }
  return undefined
}

/** Date's range is ±8.64e15 ms; an absurd sender timestamp must still make a readable message. */
function iso(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${String(ms)} ms since the epoch`
}
