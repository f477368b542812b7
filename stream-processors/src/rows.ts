import { sampleName, type Envelope } from '#schemas/src/families.ts'
import { samplePoints } from '#schemas/src/node-exporter.ts'
import { seriesId } from '#schemas/src/series-id.ts'
import {
  canonicalLabels,
  microsToDateTime64,
  type SampleLogRow,
  type WidePoint,
} from '#schemas/clickhouse/rows.ts'

// The row contract moved to schemas (the query API and the tests read rows too); re-exported so the
// processor's own modules keep one import for rows.
export {
  canonicalLabels,
  dateTime64ToMicros,
  microsToDateTime64,
  type SampleLogRow,
  type WidePoint,
} from '#schemas/clickhouse/rows.ts'

/**
 * One series as the processors know it: its names, its id (schemas/src/series-id.ts) and the id's
 * 32-bit halves, from which a UInt64 column is written without a BigInt per value.
 */
export interface SeriesRef {
  readonly tenant: string
  readonly metric: string
  readonly host: string
  /** Canonical JSON (canonicalLabels). */
  readonly labels: string
  readonly id: bigint
  readonly lo: number
  readonly hi: number
  /** `tenant NUL host NUL metric NUL labels`: the series among all (counter-rates.ts seriesKey). */
  readonly key: string
  /** `metric NUL labels`: the series within its host, as the series budget counts it. */
  readonly hostKey: string
  /** The newest UTC day (days since the epoch) for which this series' `series` row is stored. */
  storedDay: number
}

/** Series the processors keep in memory; past this many the registry starts afresh. */
export const DEFAULT_MAX_SERIES = 2_000_000

/** A level of the lookup: the series whose labels end here, and the next label's name → value → level. */
interface SpellingNode {
  ref?: SeriesRef
  next?: Map<string, Map<string, SpellingNode>>
}

/**
 * Series by the spelling of their names as records carry them, so a value costs a few Map lookups on
 * strings the decoder already made, not a label sort, a JSON spelling and a hash (measured: the
 * spelling as one concatenated key cost 0.4 µs per value more). Bounded: when full it is cleared,
 * which costs only a `series` row written again per series (the table folds repeats).
 */
export class SeriesRegistry {
  private readonly hosts = new Map<string, Map<string, Map<string, SpellingNode>>>()
  private readonly byCanonical = new Map<string, SeriesRef>()

  constructor(private readonly maxSeries = DEFAULT_MAX_SERIES) {}

  get size(): number {
    return this.byCanonical.size
  }

  /** The lookup of one host's series by metric name, for every point of an envelope. */
  host(tenant: string, host: string): HostSeries {
    let byHost = this.hosts.get(tenant)
    if (!byHost) this.hosts.set(tenant, (byHost = new Map<string, Map<string, SpellingNode>>()))
    let byMetric = byHost.get(host)
    if (!byMetric) byHost.set(host, (byMetric = new Map<string, SpellingNode>()))
    return new HostSeries(this, tenant, host, byMetric)
  }

  /** The series of already canonical labels. */
  canonical(tenant: string, host: string, metric: string, labels: string): SeriesRef {
    const key = `${tenant}\u0000${host}\u0000${metric}\u0000${labels}`
    const known = this.byCanonical.get(key)
    if (known) return known
    if (this.byCanonical.size >= this.maxSeries) {
      this.byCanonical.clear()
      this.hosts.clear()
    }
    const id = seriesId(tenant, metric, host, labels)
    const ref: SeriesRef = {
      tenant,
      metric,
      host,
      labels,
      id,
      lo: Number(id & 0xffffffffn),
      hi: Number(id >> 32n),
      key,
      hostKey: `${metric}\u0000${labels}`,
      storedDay: -1,
    }
    this.byCanonical.set(key, ref)
    return ref
  }
}

/** One host's series by metric and labels in the order a record spells them. */
export class HostSeries {
  constructor(
    private readonly registry: SeriesRegistry,
    private readonly tenant: string,
    private readonly host: string,
    private readonly byMetric: Map<string, SpellingNode>,
  ) {}

  of(metric: string, labels: Readonly<Record<string, string>>): SeriesRef {
    let node = this.byMetric.get(metric)
    if (!node) this.byMetric.set(metric, (node = {}))
    for (const k in labels) {
      const v = labels[k] ?? ''
      node.next ??= new Map()
      let values = node.next.get(k)
      if (!values) node.next.set(k, (values = new Map<string, SpellingNode>()))
      let child = values.get(v)
      if (!child) values.set(v, (child = {}))
      node = child
    }
    return (node.ref ??= this.registry.canonical(this.tenant, this.host, metric, canonicalLabels(labels)))
  }
}

/**
 * A chunk's rows: its points as parallel columns (series, µs, value), and one sample-log row per
 * stored envelope. Columns, not row objects, because the sink hands them to ClickHouse as columns.
 */
export interface RowBatch {
  readonly registry: SeriesRegistry
  series: SeriesRef[]
  tsUs: number[]
  values: number[]
  log: SampleLogRow[]
}

export function newRowBatch(registry: SeriesRegistry = new SeriesRegistry()): RowBatch {
  return { registry, series: [], tsUs: [], values: [], log: [] }
}

/** Points in the batch. */
export function pointCount(batch: RowBatch): number {
  return batch.values.length
}

/** One point of a series given by name (tests, benches, tools): labels already canonical. */
export function addPoint(
  batch: RowBatch,
  p: { tenant: string; metric: string; host: string; labels: string; tsUs: number; value: number },
): void {
  batch.series.push(batch.registry.canonical(p.tenant, p.host, p.metric, p.labels))
  batch.tsUs.push(p.tsUs)
  batch.values.push(p.value)
}

/** The batch's points as tuples: for tests and tools that compare what was stored with what was sent. */
export function widePoints(batch: RowBatch): WidePoint[] {
  return batch.values.map((value, i) => {
    const s = batch.series[i] as SeriesRef
    return [s.tenant, s.metric, s.host, s.labels, batch.tsUs[i] ?? 0, value]
  })
}

/** A batch holding these points (and no sample-log rows). */
export function batchOf(points: readonly WidePoint[], registry?: SeriesRegistry): RowBatch {
  const batch = newRowBatch(registry)
  for (const [tenant, metric, host, labels, tsUs, value] of points)
    addPoint(batch, { tenant, metric, host, labels, tsUs, value })
  return batch
}

/** Drops the points and log rows past the given counts (an envelope refused after its rows went in). */
export function truncateBatch(batch: RowBatch, points: number, log: number): void {
  batch.series.length = points
  batch.tsUs.length = points
  batch.values.length = points
  batch.log.length = log
}

/** Why an envelope's rows were not appended (see admission.ts for the catalogue). */
export interface RowRefusal {
  reason: 'NON_FINITE_VALUE' | 'TOO_MANY_SERIES'
  detail: string
}

/**
 * Appends an envelope's points and its sample-log row, all or nothing. Nothing is appended when a
 * value is NaN or ±Inf (it would poison every rollup) or when the envelope holds more than
 * `maxSeries` series (a cardinality bomb: a record with a million interfaces), and the reason is
 * returned for the caller to dead-letter the envelope.
 */
export function appendEnvelopeRows(
  batch: RowBatch,
  env: Envelope,
  tenant: string,
  kafka: { partition: number; offset: string; topic?: string },
  maxSeries = Number.POSITIVE_INFINITY,
): RowRefusal | undefined {
  const start = batch.values.length
  const tsUs = env.ts_us
  const host = env.host_id
  const series = batch.registry.host(tenant, host)
  let refusal: RowRefusal | undefined
  const emit = (name: string, labels: Readonly<Record<string, string>>, value: number): void => {
    if (refusal) return
    if (!Number.isFinite(value)) {
      refusal = { reason: 'NON_FINITE_VALUE', detail: `${name}${canonicalLabels(labels)} = ${String(value)}` }
      return
    }
    if (batch.values.length - start >= maxSeries) {
      refusal = {
        reason: 'TOO_MANY_SERIES',
        detail: `more than ${String(maxSeries)} series in one ${sampleName(env.sample)} sample`,
      }
      return
    }
    batch.series.push(series.of(name, labels))
    batch.tsUs.push(tsUs)
    batch.values.push(value)
  }
  samplePoints(env.sample, emit)
  if (refusal) {
    truncateBatch(batch, start, batch.log.length)
    return refusal
  }
  batch.log.push([
    tenant,
    host,
    env.hostname,
    env.agent_id,
    env.seq,
    // The collector for a `metrics` record, so the log says netstat or hwmon, not the record type.
    sampleName(env.sample),
    microsToDateTime64(tsUs),
    batch.values.length - start,
    kafka.partition,
    kafka.offset,
    kafka.topic ?? '',
  ])
  return undefined
}
