import type { ClickHouseClient } from '@clickhouse/client'
import { columnarInserter } from '#platform/clickhouse.ts'
import type { ColumnarInserter, InsertSettings } from '#platform/columnar-insert.ts'
import type { ColumnarBatch } from '#platform/columnar.ts'
import { CLUSTER_INSERT_SETTINGS, POINTS_TABLE, TIER_FEED_TABLE } from '#schemas/clickhouse/ddl.ts'
import { wideSql } from '#schemas/clickhouse/wide.ts'
import { ProcessorError } from './errors.ts'
import { newSeriesDays, pointColumns, sampleLogColumns, seriesColumns } from './columns.ts'
import type { RowBatch } from './rows.ts'
import { agentKey, type AgentRef } from './sequence-guard.ts'
import { COUNTER_LOOKBACK_S, seriesKey, type CounterPoint, type HostRef } from './counter-rates.ts'
import { hostSeriesKey } from './series-budget.ts'

/**
 * How much of raw the series budget reads besides the 1 min tier, which trails raw by the tier
 * feeder's batch: five minutes covers a feeder up to that far behind.
 */
const RAW_TAIL_S = 300

/**
 * Settings of every processor insert. `async_insert: 0`: the processors batch themselves, and a
 * buffered insert would be flushed together with others under one set of settings, the
 * deduplication tokens lost (26.2+ defaults it to 1). `deduplicate_blocks_in_dependent_materialized_views`:
 * a replayed tier feed dropped by the token must not reach the views either (schemas/clickhouse/README.md).
 */
const INSERT_SETTINGS = {
  async_insert: 0,
  insert_deduplicate: 1,
  deduplicate_blocks_in_dependent_materialized_views: 1,
  parallel_view_processing: 1,
} as const

export interface SinkOptions {
  /** `cluster` adds the settings that keep the token meaningful through Distributed tables. */
  profile?: 'single' | 'cluster'
  /**
   * `inline`: every write also feeds the rollup tiers, with the same token (one chunk, one call: for
   * tools and tests). `feeder`: the tiers are fed apart, in larger batches, by the tier feeder
   * (tier-feeder.ts), which is how the processor service runs.
   */
  tiers?: 'inline' | 'feeder'
  /** How rows reach the engine; the client's own (platform/clickhouse.ts columnarInserter) when absent. */
  inserter?: ColumnarInserter
}

/**
 * Writes one chunk of Kafka messages to ClickHouse. Every table gets the same deduplication token,
 * derived from the exact offset range, so a replay of the range (after a crash, a failed commit or a
 * rebalance) is dropped by each table on its own, even if the first attempt died between two tables.
 */
export class ClickHouseSink {
  private readonly profile: 'single' | 'cluster'
  private readonly tiers: 'inline' | 'feeder'
  private inserter: Promise<ColumnarInserter> | undefined

  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    options: SinkOptions | 'single' | 'cluster' = {},
  ) {
    const o = typeof options === 'string' ? { profile: options } : options
    this.profile = o.profile ?? 'single'
    this.tiers = o.tiers ?? 'inline'
    if (o.inserter) this.inserter = Promise.resolve(o.inserter)
  }

  private settings(token: string): InsertSettings {
    return {
      ...INSERT_SETTINGS,
      // Only for a cluster: a server of the single profile has no Distributed tables.
      ...(this.profile === 'cluster' ? CLUSTER_INSERT_SETTINGS : {}),
      insert_deduplication_token: token,
    }
  }

  private insert(batch: ColumnarBatch, token: string): Promise<void> {
    this.inserter ??= columnarInserter(this.client)
    return this.inserter.then((i) => i.insert(batch, this.settings(token)))
  }

  /**
   * Series rows first (a point is never stored without its names), then the points, the tier feed
   * when inline, and the sample log last: a row there means the whole envelope was stored.
   */
  async write(batch: RowBatch, token: string): Promise<void> {
    try {
      const fresh = newSeriesDays(batch)
      if (fresh.refs.length > 0) await this.insert(seriesColumns(this.database, fresh), token)
      if (batch.values.length > 0) {
        await this.insert(pointColumns(this.database, batch, POINTS_TABLE), token)
        if (this.tiers === 'inline')
          await this.insert(pointColumns(this.database, batch, TIER_FEED_TABLE), token)
      }
      if (batch.log.length > 0) await this.insert(sampleLogColumns(this.database, batch), token)
      // Only once stored: a failed write leaves them to be written again by the retry.
      fresh.refs.forEach((ref, i) => {
        const day = fresh.days[i] ?? -1
        if (day > ref.storedDay) ref.storedDay = day
      })
    } catch (err) {
      throw insertError(token, err)
    }
  }

  /** The tier feed alone: the tier feeder's ~10 s batches. */
  async writeTiers(batch: RowBatch, token: string): Promise<void> {
    try {
      if (batch.values.length > 0)
        await this.insert(pointColumns(this.database, batch, TIER_FEED_TABLE), token)
    } catch (err) {
      throw insertError(token, err)
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

  /**
   * The envelopes stored from one topic partition's offset range, as `offset NUL agent NUL seq`: what
   * the tier feeder rolls up, so the tiers count exactly what raw stored (sequence guard, limits and
   * refusals included) however the two were interleaved.
   */
  async storedEnvelopes(topic: string, partition: number, first: string, last: string): Promise<Set<string>> {
    const rs = await this.client.query({
      query: `SELECT toString(kafka_offset) AS o, agent_id, toString(seq) AS s FROM ${this.database}.sample_log
              WHERE kafka_topic = {topic:String} AND kafka_partition = {partition:UInt32}
                AND kafka_offset BETWEEN {first:UInt64} AND {last:UInt64}`,
      query_params: { topic, partition, first, last },
      format: 'JSONCompactEachRow',
    })
    const found = new Set<string>()
    for (const [o, agent, s] of await rs.json<[string, string, string]>())
      found.add(`${o}\u0000${agent}\u0000${s}`)
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
    if (hosts.length === 0) return found
    const asked = new Set(hosts.map((h) => hostSeriesKey(h.tenant, h.host)))
    // One tenant per query: the points' tenant column is matched as well as the series ids.
    for (const tenant of new Set(hosts.map((h) => h.tenant))) {
      const rs = await this.client.query({
        query: `SELECT host, metric, labels, argMax(value, ts) AS value,
                       toString(toUnixTimestamp64Micro(max(ts))) AS ts_us
                FROM (${wideSql({
                  database: this.database,
                  source: POINTS_TABLE,
                  seriesWhere: `tenant = {tenant:String} AND host IN {hosts:Array(String)} AND day >= toDate(now() - toIntervalSecond({lookback:UInt32}))`,
                  tenant: '{tenant:String}',
                  pointsWhere: `ts >= now64(6) - toIntervalSecond({lookback:UInt32})`,
                })})
                GROUP BY host, metric, labels`,
        query_params: {
          tenant,
          hosts: hosts.filter((h) => h.tenant === tenant).map((h) => h.host),
          lookback: COUNTER_LOOKBACK_S,
        },
        format: 'JSONEachRow',
      })
      for (const r of await rs.json<{
        host: string
        metric: string
        labels: string
        value: number
        ts_us: string
      }>()) {
        if (!asked.has(hostSeriesKey(tenant, r.host))) continue
        found.set(seriesKey(tenant, r.host, r.metric, r.labels), { tsUs: Number(r.ts_us), value: r.value })
      }
    }
    return found
  }

  /**
   * Per host, when each series was last seen since `sinceUs`, for the series budget. Read from the
   * 1 min tier, one row per series and minute, not from raw (a row per point: an hour of a
   * 3,000-series host at 1 Hz is 10.8 M rows); a series counts as seen until the end of its last
   * minute, which errs towards counting it. The tiers trail raw by the tier feeder's batch
   * (tier-feeder.ts), so the last RAW_TAIL_S of raw are read too: a series first seen there counts.
   */
  async storedSeries(hosts: HostRef[], sinceUs: number): Promise<Map<string, Map<string, number>>> {
    const found = new Map<string, Map<string, number>>()
    if (hosts.length === 0) return found
    const asked = new Set(hosts.map((h) => hostSeriesKey(h.tenant, h.host)))
    const since = Math.max(0, Math.floor(sinceUs / 1_000_000))
    const note = (tenant: string, host: string, series: string, lastUs: number): void => {
      const key = hostSeriesKey(tenant, host)
      if (!asked.has(key)) return
      let known = found.get(key)
      if (!known) found.set(key, (known = new Map<string, number>()))
      if ((known.get(series) ?? -1) < lastUs) known.set(series, lastUs)
    }
    for (const tenant of new Set(hosts.map((h) => h.tenant))) {
      const params = {
        tenant,
        hosts: hosts.filter((h) => h.tenant === tenant).map((h) => h.host),
        since,
        tail: RAW_TAIL_S,
      }
      const seriesWhere = `tenant = {tenant:String} AND host IN {hosts:Array(String)} AND day >= toDate(toDateTime({since:UInt32}, 'UTC'))`
      const tier = await this.client.query({
        query: `SELECT host, metric, labels, toString(toUnixTimestamp(max(bucket))) AS last_minute
                FROM (${wideSql({ database: this.database, source: 'points_1m', seriesWhere, tenant: '{tenant:String}', pointsWhere: `bucket >= toStartOfMinute(toDateTime({since:UInt32}, 'UTC'))` })})
                GROUP BY host, metric, labels`,
        query_params: params,
        format: 'JSONEachRow',
      })
      for (const r of await tier.json<{
        host: string
        metric: string
        labels: string
        last_minute: string
      }>())
        note(tenant, r.host, `${r.metric}\u0000${r.labels}`, (Number(r.last_minute) + 60) * 1_000_000 - 1)
      const raw = await this.client.query({
        query: `SELECT host, metric, labels, toString(toUnixTimestamp64Micro(max(ts))) AS last_us
                FROM (${wideSql({ database: this.database, source: POINTS_TABLE, seriesWhere, tenant: '{tenant:String}', pointsWhere: `ts >= greatest(toDateTime64({since:UInt32}, 6, 'UTC'), now64(6) - toIntervalSecond({tail:UInt32}))` })})
                GROUP BY host, metric, labels`,
        query_params: params,
        format: 'JSONEachRow',
      })
      for (const r of await raw.json<{ host: string; metric: string; labels: string; last_us: string }>())
        note(tenant, r.host, `${r.metric}\u0000${r.labels}`, Number(r.last_us))
    }
    return found
  }
}

function insertError(token: string, err: unknown): ProcessorError {
  return new ProcessorError('CLICKHOUSE_INSERT', `insert of chunk ${token} failed: ${String(err)}`, {
    retryable: true,
    cause: err,
  })
}
