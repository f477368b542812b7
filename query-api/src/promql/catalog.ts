import type { ClickHouseClient } from '@clickhouse/client'
import type { VectorSelector } from './ast.ts'
import { PromQLError } from './errors.ts'
import { compareLabels, JOB, NAME, seriesLabels, type Labels } from './labels.ts'
import { SERIES_TABLE } from '#schemas/clickhouse/ddl.ts'
import { selectorWhere, utcDay } from './selector-sql.ts'

/**
 * What series, label names and label values a tenant has over a time range: Prometheus's `series`,
 * `labels` and `label/NAME/values`, which Grafana calls for its metric browser and its variables.
 * Read from the series table, which names each series once per UTC day it has values, so a 30-day
 * lookup reads 30 rows per series and no point. The range is matched by whole UTC days: a series
 * that had values earlier on the range's first day (or later on its last) is listed too.
 */
export interface CatalogOptions {
  client: ClickHouseClient
  database: string
  tenant: string
  hostnames: ReadonlyMap<string, string>
  startMs: number
  endMs: number
  /** Selectors of `match[]`; a series qualifies if any matches. Empty: every series. */
  match: VectorSelector[]
  limit: number
  signal?: AbortSignal | undefined
}

function where(o: CatalogOptions): { sql: string; params: Record<string, unknown> } | undefined {
  const params: Record<string, unknown> = {
    tenant: o.tenant,
    dayFrom: utcDay(o.startMs),
    dayTo: utcDay(o.endMs),
  }
  const time = `tenant = {tenant:String} AND day >= {dayFrom:Date} AND day <= {dayTo:Date}`
  if (o.match.length === 0) return { sql: time, params }
  const alternatives: string[] = []
  o.match.forEach((sel, i) => {
    const w = selectorWhere(sel.matchers, o.tenant, o.hostnames, `m${i}_`)
    if (!w.possible) return
    Object.assign(params, w.params)
    alternatives.push(`(${w.sql})`)
  })
  if (alternatives.length === 0) return undefined
  return { sql: `${time} AND (${alternatives.join(' OR ')})`, params }
}

async function rows<T>(o: CatalogOptions, query: string, params: Record<string, unknown>): Promise<T[]> {
  try {
    const rs = await o.client.query({
      query,
      query_params: { ...params, limit: o.limit + 1 },
      format: 'JSONEachRow',
      abort_signal: o.signal,
    })
    const out = await rs.json<T>()
    if (out.length > o.limit)
      throw new PromQLError('execution', `more than ${o.limit} results; narrow match[] or the time range`)
    return out
  } catch (err) {
    if (err instanceof PromQLError) throw err
    if (o.signal?.aborted) throw new PromQLError('timeout', 'query timed out', { cause: err })
    throw new PromQLError('unavailable', `storage query failed: ${String(err)}`, { cause: err })
  }
}

export async function findSeries(o: CatalogOptions): Promise<Labels[]> {
  const w = where(o)
  if (!w) return []
  const found = await rows<{ metric: string; host: string; labels: string }>(
    o,
    `SELECT DISTINCT metric, host, labels FROM ${o.database}.${SERIES_TABLE} WHERE ${w.sql} LIMIT {limit:UInt64}`,
    w.params,
  )
  return found
    .map((r) => seriesLabels(r.metric, r.host, o.hostnames.get(r.host) ?? '', r.labels))
    .sort(compareLabels)
}

export async function labelNames(o: CatalogOptions): Promise<string[]> {
  const w = where(o)
  if (!w) return []
  const found = await rows<{ name: string }>(
    o,
    `SELECT DISTINCT arrayJoin(JSONExtractKeys(labels)) AS name FROM ${o.database}.${SERIES_TABLE} WHERE ${w.sql} LIMIT {limit:UInt64}`,
    w.params,
  )
  const any = await rows<{ n: number }>(
    o,
    `SELECT 1 AS n FROM ${o.database}.${SERIES_TABLE} WHERE ${w.sql} LIMIT 1`,
    w.params,
  )
  const names = new Set(found.map((r) => r.name))
  if (any.length > 0) for (const n of [NAME, 'host', 'instance', 'job']) names.add(n)
  return [...names].sort()
}

export async function labelValues(o: CatalogOptions, name: string): Promise<string[]> {
  const w = where(o)
  if (!w) return []
  let values: string[]
  if (name === NAME) {
    values = (
      await rows<{ v: string }>(
        o,
        `SELECT DISTINCT metric AS v FROM ${o.database}.${SERIES_TABLE} WHERE ${w.sql} LIMIT {limit:UInt64}`,
        w.params,
      )
    ).map((r) => r.v)
  } else if (name === 'host' || name === 'instance') {
    const hosts = (
      await rows<{ v: string }>(
        o,
        `SELECT DISTINCT host AS v FROM ${o.database}.${SERIES_TABLE} WHERE ${w.sql} LIMIT {limit:UInt64}`,
        w.params,
      )
    ).map((r) => r.v)
    values = name === 'host' ? hosts : hosts.map((h) => o.hostnames.get(h) || h)
  } else if (name === 'job') {
    const any = await rows<{ n: number }>(
      o,
      `SELECT 1 AS n FROM ${o.database}.${SERIES_TABLE} WHERE ${w.sql} LIMIT 1`,
      w.params,
    )
    values = any.length > 0 ? [JOB] : []
  } else {
    values = (
      await rows<{ v: string }>(
        o,
        `SELECT DISTINCT JSONExtractString(labels, {label:String}) AS v FROM ${o.database}.${SERIES_TABLE}
         WHERE ${w.sql} AND JSONHas(labels, {label:String}) LIMIT {limit:UInt64}`,
        { ...w.params, label: name },
      )
    ).map((r) => r.v)
  }
  return [...new Set(values)].filter((v) => v !== '').sort()
}

/**
 * Host id → host name, from the tenant's recent envelopes: each agent reports its host name with
 * every sample. sample_log keeps RAW_TTL_DAYS (7) of them, so a host silent for longer is missing
 * here (unameHostnamesOf covers it).
 */
export async function hostnamesOf(
  client: ClickHouseClient,
  database: string,
  tenant: string,
): Promise<Map<string, string>> {
  return hostMap(
    client,
    `SELECT host, argMax(hostname, ts) AS hostname FROM ${database}.sample_log
      WHERE tenant = {tenant:String} GROUP BY host`,
    tenant,
  )
}

/**
 * Host id → the `nodename` label of the host's latest `node_uname_info` in the series table, which
 * keeps a series as long as its longest-lived tier: the name of a host that stopped reporting before
 * sample_log's retention. On Linux the agent's host name is that same uname nodename. Latest by day:
 * a host renamed within a day may show either name until the next day.
 */
export async function unameHostnamesOf(
  client: ClickHouseClient,
  database: string,
  tenant: string,
): Promise<Map<string, string>> {
  return hostMap(
    client,
    `SELECT host, argMax(JSONExtractString(labels, 'nodename'), day) AS hostname FROM ${database}.${SERIES_TABLE}
      WHERE tenant = {tenant:String} AND metric = 'node_uname_info' GROUP BY host HAVING hostname != ''`,
    tenant,
  )
}

async function hostMap(
  client: ClickHouseClient,
  query: string,
  tenant: string,
): Promise<Map<string, string>> {
  try {
    const rs = await client.query({ query, query_params: { tenant }, format: 'JSONEachRow' })
    const found = await rs.json<{ host: string; hostname: string }>()
    return new Map(found.map((r) => [r.host, r.hostname]))
  } catch (err) {
    throw new PromQLError('unavailable', `storage query failed: ${String(err)}`, { cause: err })
  }
}
