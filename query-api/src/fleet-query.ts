import type { ClickHouseClient } from '@clickhouse/client'
import { POINTS_TABLE } from '#schemas/clickhouse/ddl.ts'
import { namedSql, narrowSql } from '#schemas/clickhouse/wide.ts'
import { QueryApiError } from './errors.ts'
import { tierTable } from './promql/buckets.ts'
import { utcDay } from './promql/selector-sql.ts'
import { chartGrid, queryHosts, type HostInfo, type Resolution } from './series-query.ts'

export interface FleetRequest {
  tenant: string
  fromMs: number
  toMs: number
  /** Sparkline points per host and signal. */
  points: number
}

export interface FleetSpark {
  cpu: (number | null)[]
  mem: (number | null)[]
  disk: (number | null)[]
  net: (number | null)[]
}

export interface FleetHost extends HostInfo {
  /** Percent of all cores' time not idle, 0–100, in the newest step that has data. */
  cpu_busy: number | null
  /** 100 × (1 − MemAvailable / MemTotal), as `free` counts used memory. */
  mem_used: number | null
  /** Bytes read + written per second over physical block devices. */
  disk_bytes_per_s: number | null
  /** Bytes received + transmitted per second over physical interfaces. */
  net_bytes_per_s: number | null
  spark: FleetSpark
}

export interface FleetResponse {
  step_ms: number
  /** metrics_raw (raw points) or the rollup tier the values were read from, as series-query.ts names them. */
  source: string
  /** Unix seconds: the start of each sparkline step. */
  timestamps: number[]
  hosts: FleetHost[]
}

/**
 * Devices the dashboard hides by default (query-api/public/transform.js has the same list): loopback,
 * loop mounts, RAM disks, container veth pairs and bridges. Their traffic never leaves the host or is
 * counted again on the physical device, so it would rank a host by work it did not do.
 */
export const VIRTUAL_DEVICE_RE2 = '^(lo|loop[0-9]+|ram[0-9]+|zram[0-9]+|fd[0-9]+|veth.*|docker.*)$'

const CPU = 'node_cpu_seconds_total'
const COUNTERS = [
  CPU,
  'node_disk_read_bytes_total',
  'node_disk_written_bytes_total',
  'node_network_receive_bytes_total',
  'node_network_transmit_bytes_total',
]
const MEM_TOTAL = 'node_memory_MemTotal_bytes'
const MEM_AVAILABLE = 'node_memory_MemAvailable_bytes'

/** One host's values in one step, as the SQL below returns them. */
export interface CounterRow {
  host: string
  t: string | number
  cpu: number | null
  disk: number | null
  net: number | null
}
export interface GaugeRow {
  host: string
  t: string | number
  mem: number | null
}

const deviceFilter = `(metric = '${CPU}' OR NOT match(JSONExtractString(labels, 'device'), {virtual:String}))`
const DAYS = 'day >= {dayFrom:Date} AND day <= {dayTo:Date}'
const COUNTER_SERIES = `tenant = {tenant:String} AND metric IN {counters:Array(String)} AND ${deviceFilter} AND ${DAYS}`
const GAUGE_SERIES = `tenant = {tenant:String} AND metric IN {gauges:Array(String)} AND ${DAYS}`

/**
 * Per-series rates of the counters as rows (series_id, t, r), the same rate as series-query.ts
 * computes: raw increases over the time they span, a decrease counted as a reset. From a tier, the
 * increase between the last values of consecutive steps over the time between the latest buckets
 * holding them, so the step still filling is not divided by a whole step.
 */
function seriesRatesSql(database: string, tier: Resolution['tier']): string {
  const read = { database, seriesWhere: COUNTER_SERIES, tenant: '{tenant:String}' }
  if (tier === undefined) {
    return `SELECT series_id, intDiv(toUnixTimestamp64Milli(ts), {step:Int64}) * {step:Int64} AS t,
        sum(if(value >= pv, value - pv, value)) / (sum(toUnixTimestamp64Micro(ts) - toUnixTimestamp64Micro(pts)) / 1e6) AS r
      FROM (
        SELECT series_id, ts, value,
          lagInFrame(value) OVER w AS pv, lagInFrame(ts) OVER w AS pts, row_number() OVER w AS rn
        FROM (${narrowSql({
          ...read,
          source: POINTS_TABLE,
          pointsWhere:
            'ts >= fromUnixTimestamp64Milli({from:Int64} - {step:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})',
        })})
        WINDOW w AS (PARTITION BY series_id ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
      )
      WHERE rn > 1 AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts > pts
      GROUP BY series_id, t`
  }
  return `SELECT series_id, t, if(last >= pl, last - pl, last) / (lb - plb) AS r
    FROM (
      SELECT series_id, t, last, lb,
        lagInFrame(last) OVER w AS pl, lagInFrame(lb) OVER w AS plb, row_number() OVER w AS rn
      FROM (
        SELECT series_id, intDiv(toUnixTimestamp(bucket) * 1000, {step:Int64}) * {step:Int64} AS t,
          argMax(last, bucket) AS last, toUnixTimestamp(max(bucket)) AS lb
        FROM (
          SELECT series_id, bucket, finalizeAggregation(value_last) AS last
          FROM (${narrowSql({
            ...read,
            source: tierTable(tier),
            // FINAL: a bucket's rows merged in the table's order, not hashed (promql/buckets.ts).
            final: true,
            pointsWhere:
              'bucket >= toDateTime(intDiv({from:Int64} - {step:Int64}, 1000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000))',
          })})
        )
        GROUP BY series_id, t
      )
      WINDOW w AS (PARTITION BY series_id ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    )
    WHERE rn > 1 AND t >= {from:Int64} AND lb > plb`
}

/**
 * CPU busy %, disk and network bytes/s per host and step; NULL where a host has no such series. The
 * rates are per series id; each series' host and kind are joined to them from the series table.
 */
export function countersSql(database: string, tier: Resolution['tier']): string {
  const isCpu = `kind = 'cpu'`
  const named = namedSql({
    database,
    seriesWhere: COUNTER_SERIES,
    rows: seriesRatesSql(database, tier),
    columns: ['t', 'r'],
    names: [
      'host',
      `multiIf(metric = '${CPU}', 'cpu', startsWith(metric, 'node_disk_'), 'disk', 'net') AS kind`,
      `metric = '${CPU}' AND JSONExtractString(labels, 'mode') != 'idle' AS busy`,
    ],
  })
  return `SELECT host, t,
      if(sumIf(r, ${isCpu}) > 0, 100 * sumIf(r, ${isCpu} AND busy) / sumIf(r, ${isCpu}), NULL) AS cpu,
      if(countIf(kind = 'disk') > 0, sumIf(r, kind = 'disk'), NULL) AS disk,
      if(countIf(kind = 'net') > 0, sumIf(r, kind = 'net'), NULL) AS net
    FROM (${named})
    GROUP BY host, t ORDER BY host, t
    SETTINGS do_not_merge_across_partitions_select_final = 1`
}

/** Memory used % per host and step, from the exact means of MemTotal and MemAvailable. */
export function memorySql(database: string, tier: Resolution['tier']): string {
  const read = { database, seriesWhere: GAUGE_SERIES, tenant: '{tenant:String}' }
  // Sum and count per series and step; a mean per host follows exactly from them.
  const perSeries =
    tier === undefined
      ? `SELECT series_id, intDiv(toUnixTimestamp64Milli(ts), {step:Int64}) * {step:Int64} AS t, sum(value) AS s, count() AS n
        FROM (${narrowSql({
          ...read,
          source: POINTS_TABLE,
          pointsWhere:
            'ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})',
        })})
        GROUP BY series_id, t`
      : `SELECT series_id, intDiv(toUnixTimestamp(bucket) * 1000, {step:Int64}) * {step:Int64} AS t, sum(value_sum) AS s, sum(value_count) AS n
        FROM (${narrowSql({
          ...read,
          source: tierTable(tier),
          pointsWhere:
            'bucket >= toDateTime(intDiv({from:Int64}, 1000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000))',
        })})
        GROUP BY series_id, t`
  const named = namedSql({
    database,
    seriesWhere: GAUGE_SERIES,
    rows: perSeries,
    columns: ['t', 's', 'n'],
    names: ['host', 'metric'],
  })
  const mean = (metric: string): string =>
    `sumIf(s, metric = '${metric}') / nullIf(sumIf(n, metric = '${metric}'), 0)`
  return `SELECT host, t, if(total > 0, 100 * (1 - available / total), NULL) AS mem
    FROM (
      SELECT host, t, ${mean(MEM_TOTAL)} AS total, ${mean(MEM_AVAILABLE)} AS available
      FROM (${named})
      GROUP BY host, t
    )
    ORDER BY host, t`
}

/** Four significant digits: plenty for a ranking and a sparkline, and a third of the JSON. */
function round(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : Number(v.toPrecision(4))
}

function newest(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i]
    if (v !== undefined && v !== null) return v
  }
  return null
}

/**
 * The response from the host list and the per-step rows: each host's sparklines on the shared grid
 * and its newest values, busiest CPU first (hosts without CPU data last, then by name).
 */
export function assembleFleet(
  hosts: HostInfo[],
  counters: CounterRow[],
  gauges: GaugeRow[],
  grid: { first: number; step: number; buckets: number },
): FleetHost[] {
  const empty = (): (number | null)[] => new Array<number | null>(grid.buckets).fill(null)
  const sparks = new Map<string, FleetSpark>()
  const sparkOf = (host: string): FleetSpark => {
    let s = sparks.get(host)
    if (!s) {
      s = { cpu: empty(), mem: empty(), disk: empty(), net: empty() }
      sparks.set(host, s)
    }
    return s
  }
  const index = (t: string | number): number => {
    const i = Math.round((Number(t) - grid.first) / grid.step)
    return i >= 0 && i < grid.buckets ? i : -1
  }
  for (const row of counters) {
    const i = index(row.t)
    if (i < 0) continue
    const s = sparkOf(row.host)
    s.cpu[i] = round(row.cpu)
    s.disk[i] = round(row.disk)
    s.net[i] = round(row.net)
  }
  for (const row of gauges) {
    const i = index(row.t)
    if (i >= 0) sparkOf(row.host).mem[i] = round(row.mem)
  }
  const out = hosts.map((h): FleetHost => {
    const spark = sparks.get(h.host_id) ?? { cpu: empty(), mem: empty(), disk: empty(), net: empty() }
    return {
      ...h,
      cpu_busy: newest(spark.cpu),
      mem_used: newest(spark.mem),
      disk_bytes_per_s: newest(spark.disk),
      net_bytes_per_s: newest(spark.net),
      spark,
    }
  })
  return out.sort(
    (a, b) =>
      (b.cpu_busy ?? -1) - (a.cpu_busy ?? -1) ||
      (a.hostname || a.host_id).localeCompare(b.hostname || b.host_id),
  )
}

/** Every host of the tenant with its CPU, memory, disk and network load: one query per kind of signal. */
export async function queryFleet(
  client: ClickHouseClient,
  database: string,
  req: FleetRequest,
): Promise<FleetResponse> {
  const { stepMs: step, tier, first, buckets, timestamps } = chartGrid(req.fromMs, req.toMs, req.points)
  const params = {
    tenant: req.tenant,
    from: first,
    to: req.toMs,
    step,
    counters: COUNTERS,
    gauges: [MEM_TOTAL, MEM_AVAILABLE],
    virtual: VIRTUAL_DEVICE_RE2,
    // Counters read one step before the range.
    dayFrom: utcDay(first - step),
    dayTo: utcDay(req.toMs),
  }
  const rows = async <T>(query: string): Promise<T[]> => {
    const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' })
    return rs.json<T>()
  }
  let counters: CounterRow[], gauges: GaugeRow[]
  try {
    // In sequence: embedded chdb runs one query at a time anyway, and a server is spared a burst.
    counters = await rows<CounterRow>(countersSql(database, tier))
    gauges = await rows<GaugeRow>(memorySql(database, tier))
  } catch (err) {
    throw new QueryApiError('BACKEND', `fleet query failed: ${String(err)}`, { cause: err })
  }
  const hosts = await queryHosts(client, database, req.tenant)
  return {
    step_ms: step,
    source: tier ?? 'metrics_raw',
    timestamps,
    hosts: assembleFleet(hosts, counters, gauges, { first, step, buckets }),
  }
}
