import type { ClickHouseClient } from '@clickhouse/client'
import { QueryApiError } from './errors.ts'
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
  /** metrics_raw or the rollup tier the values were read from. */
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

/**
 * Per-series rates of the counters as rows (host, metric, labels, t, r), the same rate as
 * series-query.ts computes: raw increases over the time they span, a decrease counted as a reset.
 * From a tier, the increase between the last values of consecutive steps over the time between the
 * latest buckets holding them, so the step still filling is not divided by a whole step.
 */
function seriesRatesSql(database: string, tier: Resolution['tier']): string {
  const where = `tenant = {tenant:String} AND metric IN {counters:Array(String)} AND ${deviceFilter}`
  if (tier === undefined) {
    return `SELECT host, metric, labels, intDiv(toUnixTimestamp64Milli(ts), {step:Int64}) * {step:Int64} AS t,
        sum(if(value >= pv, value - pv, value)) / (sum(toUnixTimestamp64Micro(ts) - toUnixTimestamp64Micro(pts)) / 1e6) AS r
      FROM (
        SELECT host, metric, labels, ts, value,
          lagInFrame(value) OVER w AS pv, lagInFrame(ts) OVER w AS pts, row_number() OVER w AS rn
        FROM ${database}.metrics_raw
        WHERE ${where}
          AND ts >= fromUnixTimestamp64Milli({from:Int64} - {step:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})
        WINDOW w AS (PARTITION BY host, metric, labels ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
      )
      WHERE rn > 1 AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts > pts
      GROUP BY host, metric, labels, t`
  }
  return `SELECT host, metric, labels, t, if(last >= pl, last - pl, last) / (lb - plb) AS r
    FROM (
      SELECT host, metric, labels, t, last, lb,
        lagInFrame(last) OVER w AS pl, lagInFrame(lb) OVER w AS plb, row_number() OVER w AS rn
      FROM (
        SELECT host, metric, labels, intDiv(toUnixTimestamp(bucket) * 1000, {step:Int64}) * {step:Int64} AS t,
          argMax(last, bucket) AS last, toUnixTimestamp(max(bucket)) AS lb
        FROM (
          SELECT host, metric, labels, bucket, argMaxMerge(value_last) AS last
          FROM ${database}.${tier}
          WHERE ${where}
            AND bucket >= toDateTime(intDiv({from:Int64} - {step:Int64}, 1000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000))
          GROUP BY host, metric, labels, bucket
        )
        GROUP BY host, metric, labels, t
      )
      WINDOW w AS (PARTITION BY host, metric, labels ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    )
    WHERE rn > 1 AND t >= {from:Int64} AND lb > plb`
}

/** CPU busy %, disk and network bytes/s per host and step; NULL where a host has no such series. */
export function countersSql(database: string, tier: Resolution['tier']): string {
  const isCpu = `metric = '${CPU}'`
  const isDisk = `startsWith(metric, 'node_disk_')`
  const isNet = `startsWith(metric, 'node_network_')`
  return `SELECT host, t,
      if(sumIf(r, ${isCpu}) > 0,
        100 * sumIf(r, ${isCpu} AND JSONExtractString(labels, 'mode') != 'idle') / sumIf(r, ${isCpu}), NULL) AS cpu,
      if(countIf(${isDisk}) > 0, sumIf(r, ${isDisk}), NULL) AS disk,
      if(countIf(${isNet}) > 0, sumIf(r, ${isNet}), NULL) AS net
    FROM (${seriesRatesSql(database, tier)})
    GROUP BY host, t ORDER BY host, t`
}

/** Memory used % per host and step, from the exact means of MemTotal and MemAvailable. */
export function memorySql(database: string, tier: Resolution['tier']): string {
  const mean = (metric: string): string =>
    tier === undefined
      ? `sumIf(value, metric = '${metric}') / nullIf(countIf(metric = '${metric}'), 0)`
      : `sumIf(value_sum, metric = '${metric}') / nullIf(sumIf(value_count, metric = '${metric}'), 0)`
  const source =
    tier === undefined
      ? `SELECT host, intDiv(toUnixTimestamp64Milli(ts), {step:Int64}) * {step:Int64} AS t, metric, value
        FROM ${database}.metrics_raw
        WHERE tenant = {tenant:String} AND metric IN {gauges:Array(String)}
          AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts < fromUnixTimestamp64Milli({to:Int64})`
      : `SELECT host, intDiv(toUnixTimestamp(bucket) * 1000, {step:Int64}) * {step:Int64} AS t, metric, value_sum, value_count
        FROM ${database}.${tier}
        WHERE tenant = {tenant:String} AND metric IN {gauges:Array(String)}
          AND bucket >= toDateTime(intDiv({from:Int64}, 1000)) AND bucket < toDateTime(intDiv({to:Int64}, 1000))`
  return `SELECT host, t, if(total > 0, 100 * (1 - available / total), NULL) AS mem
    FROM (
      SELECT host, t, ${mean(MEM_TOTAL)} AS total, ${mean(MEM_AVAILABLE)} AS available
      FROM (${source})
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
