import type { ClickHouseClient } from '@clickhouse/client'
import { CLUSTER_INSERT_SETTINGS, RAW_INSERT_SETTINGS } from '../../schemas/clickhouse/ddl.ts'
import { ProcessorError } from './errors.ts'
import type { RowBatch } from './rows.ts'
import { agentKey, type AgentRef } from './sequence-guard.ts'
import { COUNTER_LOOKBACK_S, seriesKey, type CounterPoint, type HostRef } from './counter-rates.ts'
import { hostSeriesKey } from './series-budget.ts'

/**
 * Writes one chunk of Kafka messages to ClickHouse. Every table gets the same deduplication token,
 * derived from the exact offset range, so a replay of the range (after a crash, a failed commit or a
 * rebalance) is dropped by each table on its own, even if the first attempt died between two tables.
 */
export class ClickHouseSink {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    /** `cluster` adds the settings that keep the token meaningful through Distributed tables. */
    private readonly profile: 'single' | 'cluster' = 'single',
  ) {}

  async write(batch: RowBatch, token: string): Promise<void> {
    const settings = {
      ...RAW_INSERT_SETTINGS,
      // Only for a cluster: in embedded chdb a per-query setting sticks to the whole session.
      ...(this.profile === 'cluster' ? CLUSTER_INSERT_SETTINGS : {}),
      insert_deduplication_token: token,
      insert_deduplicate: 1 as const,
    }
    try {
      if (batch.raw.length > 0) {
        await this.client.insert({
          table: `${this.database}.metrics_raw`,
          values: batch.raw,
          format: 'JSONCompactEachRow',
          clickhouse_settings: settings,
        })
      }
      // The sample log goes last: a row there means the whole envelope was stored.
      if (batch.log.length > 0) {
        await this.client.insert({
          table: `${this.database}.sample_log`,
          values: batch.log,
          format: 'JSONCompactEachRow',
          clickhouse_settings: settings,
        })
      }
    } catch (err) {
      throw new ProcessorError('CLICKHOUSE_INSERT', `insert of chunk ${token} failed: ${String(err)}`, {
        retryable: true,
        cause: err,
      })
    }
  }

  /**
   * Highest `seq` stored per agent id, from the sample log (written last, so a row there means the
   * envelope is stored everywhere). Filtered by tenant and host too, the leading columns of its sort key.
   */
  async storedSequences(agents: AgentRef[]): Promise<Map<string, number>> {
    const found = new Map<string, number>()
    if (agents.length === 0) return found
    const rs = await this.client.query({
      query: `SELECT tenant, host, agent_id, max(seq) AS seq FROM ${this.database}.sample_log
              WHERE tenant IN {tenants:Array(String)} AND host IN {hosts:Array(String)}
                AND agent_id IN {agents:Array(String)}
              GROUP BY tenant, host, agent_id`,
      query_params: {
        tenants: [...new Set(agents.map((a) => a.tenant))],
        hosts: [...new Set(agents.map((a) => a.host))],
        agents: agents.map((a) => a.agentId),
      },
      format: 'JSONEachRow',
    })
    for (const row of await rs.json<{
      tenant: string
      host: string
      agent_id: string
      seq: string | number
    }>())
      found.set(agentKey({ tenant: row.tenant, host: row.host, agentId: row.agent_id }), Number(row.seq))
    return found
  }

  /** Hosts stored per tenant (the sample log's), for the tenants asked about. */
  async storedHosts(tenants: string[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>()
    if (tenants.length === 0) return found
    const rs = await this.client.query({
      query: `SELECT tenant, groupUniqArray(host) AS hosts FROM ${this.database}.sample_log
              WHERE tenant IN {tenants:Array(String)} GROUP BY tenant`,
      query_params: { tenants },
      format: 'JSONEachRow',
    })
    for (const row of await rs.json<{ tenant: string; hosts: string[] }>()) found.set(row.tenant, row.hosts)
    return found
  }

  /**
   * The latest stored value of every series of these hosts within the counter lookback, to rebuild
   * rate state after a rebalance. Gauges come back too (a name's type is known only in code) and are
   * simply never asked for.
   */
  async storedCounters(hosts: HostRef[]): Promise<Map<string, CounterPoint>> {
    const found = new Map<string, CounterPoint>()
    for (const row of await this.latestPerSeries(hosts, COUNTER_LOOKBACK_S))
      found.set(seriesKey(row.tenant, row.host, row.metric, row.labels), { tsUs: row.tsUs, value: row.value })
    return found
  }

  /**
   * Per host, when each series was last seen since `sinceUs`, for the series budget. Read from the
   * 1 min tier, one row per series and minute, not from raw (a row per point: an hour of a
   * 3,000-series host at 1 Hz is 10.8 M rows); a series counts as seen until the end of its last
   * minute, which errs towards counting it.
   */
  async storedSeries(hosts: HostRef[], sinceUs: number): Promise<Map<string, Map<string, number>>> {
    const found = new Map<string, Map<string, number>>()
    if (hosts.length === 0) return found
    const asked = new Set(hosts.map((h) => hostSeriesKey(h.tenant, h.host)))
    const rs = await this.client.query({
      query: `SELECT tenant, host, metric, labels, toString(toUnixTimestamp(max(bucket))) AS last_minute
              FROM ${this.database}.metrics_1m
              WHERE tenant IN {tenants:Array(String)} AND host IN {hosts:Array(String)}
                AND bucket >= toStartOfMinute(toDateTime({since:UInt32}, 'UTC'))
              GROUP BY tenant, host, metric, labels`,
      query_params: {
        tenants: [...new Set(hosts.map((h) => h.tenant))],
        hosts: [...new Set(hosts.map((h) => h.host))],
        since: Math.max(0, Math.floor(sinceUs / 1_000_000)),
      },
      format: 'JSONEachRow',
    })
    for (const row of await rs.json<{
      tenant: string
      host: string
      metric: string
      labels: string
      last_minute: string
    }>()) {
      const key = hostSeriesKey(row.tenant, row.host)
      if (!asked.has(key)) continue
      let series = found.get(key)
      if (!series) found.set(key, (series = new Map<string, number>()))
      series.set(`${row.metric}\u0000${row.labels}`, (Number(row.last_minute) + 60) * 1_000_000 - 1)
    }
    return found
  }

  private async latestPerSeries(
    hosts: HostRef[],
    lookbackS: number,
  ): Promise<
    { tenant: string; host: string; metric: string; labels: string; value: number; tsUs: number }[]
  > {
    if (hosts.length === 0) return []
    const asked = new Set(hosts.map((h) => hostSeriesKey(h.tenant, h.host)))
    const rs = await this.client.query({
      query: `SELECT tenant, host, metric, labels, argMax(value, ts) AS value,
                     toString(toUnixTimestamp64Micro(max(ts))) AS ts_us
              FROM ${this.database}.metrics_raw
              WHERE tenant IN {tenants:Array(String)} AND host IN {hosts:Array(String)}
                AND ts >= now64(6) - toIntervalSecond({lookback:UInt32})
              GROUP BY tenant, host, metric, labels`,
      query_params: {
        tenants: [...new Set(hosts.map((h) => h.tenant))],
        hosts: [...new Set(hosts.map((h) => h.host))],
        lookback: lookbackS,
      },
      format: 'JSONEachRow',
    })
    const rows = await rs.json<{
      tenant: string
      host: string
      metric: string
      labels: string
      value: number
      ts_us: string
    }>()
    // Tenants and hosts were matched apart: keep only the pairs asked for.
    return rows
      .filter((r) => asked.has(hostSeriesKey(r.tenant, r.host)))
      .map((r) => ({ ...r, tsUs: Number(r.ts_us) }))
  }
}
