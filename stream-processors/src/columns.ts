import { setWords, type ColumnarBatch } from '#platform/columnar.ts'
import { SERIES_TABLE } from '#schemas/clickhouse/ddl.ts'
import { dateTime64ToMicros, type RowBatch, type SeriesRef } from './rows.ts'

/**
 * A chunk's rows as the columns of the tables they go to (schemas/clickhouse/ddl.ts, migration 5),
 * built in one pass over typed arrays: what the sink hands to an inserter (platform/columnar-insert.ts).
 */

const DAY_US = 86_400_000_000

/**
 * The series rows a batch needs: one per series and UTC day its points fall on that is not known to
 * be stored yet (a series is written once a day, not once a value), at most one per series and day
 * within the batch.
 */
export function newSeriesDays(batch: RowBatch): { refs: SeriesRef[]; days: number[] } {
  const refs: SeriesRef[] = []
  const days: number[] = []
  const queued = new Map<SeriesRef, number>()
  const n = batch.values.length
  for (let i = 0; i < n; i++) {
    const ref = batch.series[i] as SeriesRef
    const day = Math.floor((batch.tsUs[i] ?? 0) / DAY_US)
    if (day === ref.storedDay || queued.get(ref) === day) continue
    queued.set(ref, day)
    refs.push(ref)
    days.push(day)
  }
  return { refs, days }
}

export function seriesColumns(database: string, fresh: { refs: SeriesRef[]; days: number[] }): ColumnarBatch {
  const ids = new Uint32Array(fresh.refs.length * 2)
  fresh.refs.forEach((r, i) => {
    ids[2 * i] = r.lo
    ids[2 * i + 1] = r.hi
  })
  return {
    table: `${database}.${SERIES_TABLE}`,
    rows: fresh.refs.length,
    columns: [
      { name: 'tenant', data: { kind: 'string', values: fresh.refs.map((r) => r.tenant) } },
      { name: 'metric', data: { kind: 'string', values: fresh.refs.map((r) => r.metric) } },
      { name: 'host', data: { kind: 'string', values: fresh.refs.map((r) => r.host) } },
      { name: 'labels', data: { kind: 'string', values: fresh.refs.map((r) => r.labels) } },
      { name: 'series_id', data: { kind: 'uint64', words: ids } },
      { name: 'day', data: { kind: 'date', values: Int32Array.from(fresh.days) } },
    ],
  }
}

export function pointColumns(database: string, batch: RowBatch, table: string): ColumnarBatch {
  const n = batch.values.length
  const tenants: string[] = []
  const tenantIndex = new Map<string, number>()
  const index = new Int32Array(n)
  const ids = new Uint32Array(2 * n)
  const ts = new Uint32Array(2 * n)
  const series = batch.series
  const tsUs = batch.tsUs
  let lastTenant = ''
  let lastIndex = -1
  for (let i = 0; i < n; i++) {
    const ref = series[i] as SeriesRef
    if (ref.tenant !== lastTenant || lastIndex < 0) {
      let t = tenantIndex.get(ref.tenant)
      if (t === undefined) {
        t = tenants.length
        tenants.push(ref.tenant)
        tenantIndex.set(ref.tenant, t)
      }
      lastTenant = ref.tenant
      lastIndex = t
    }
    index[i] = lastIndex
    ids[2 * i] = ref.lo
    ids[2 * i + 1] = ref.hi
    setWords(ts, i, tsUs[i] ?? 0)
  }
  return {
    table: `${database}.${table}`,
    rows: n,
    columns: [
      { name: 'tenant', data: { kind: 'dict', dict: tenants, index } },
      { name: 'series_id', data: { kind: 'uint64', words: ids } },
      { name: 'ts', data: { kind: 'micros', words: ts } },
      { name: 'value', data: { kind: 'float64', values: Float64Array.from(batch.values) } },
    ],
  }
}

export function sampleLogColumns(database: string, batch: RowBatch): ColumnarBatch {
  const log = batch.log
  const n = log.length
  const seq = new Uint32Array(2 * n)
  const ts = new Uint32Array(2 * n)
  const offset = new Uint32Array(2 * n)
  const points = new Uint32Array(n)
  const partition = new Uint32Array(n)
  log.forEach((r, i) => {
    setWords(seq, i, r[4])
    setWords(ts, i, dateTime64ToMicros(r[6]))
    points[i] = r[7]
    partition[i] = r[8]
    setWords(offset, i, Number(r[9]))
  })
  const strings = (c: 0 | 1 | 2 | 3 | 5 | 10): { kind: 'string'; values: string[] } => ({
    kind: 'string',
    values: log.map((r) => r[c]),
  })
  return {
    table: `${database}.sample_log`,
    rows: n,
    columns: [
      { name: 'tenant', data: strings(0) },
      { name: 'host', data: strings(1) },
      { name: 'hostname', data: strings(2) },
      { name: 'agent_id', data: strings(3) },
      { name: 'seq', data: { kind: 'uint64', words: seq } },
      { name: 'family', data: strings(5) },
      { name: 'ts', data: { kind: 'micros', words: ts } },
      { name: 'points', data: { kind: 'uint32', values: points } },
      { name: 'kafka_partition', data: { kind: 'uint32', values: partition } },
      { name: 'kafka_offset', data: { kind: 'uint64', words: offset } },
      { name: 'kafka_topic', data: strings(10) },
    ],
  }
}
