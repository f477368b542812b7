/**
 * Acceptance test of issue 17: Grafana's "Node Exporter Full" (grafana.com 1860, test/fixtures),
 * replayed query by query against procstream and against Prometheus + node_exporter on this host.
 *
 * Side by side for ~60 s: Debian's node_exporter (its default collectors plus every non-default one
 * the agent has), scraped every second by Debian's Prometheus as job "node" with the host name as
 * `instance`, the labels procstream's query API gives every series; and the whole procstream
 * pipeline, with this host's agent sampling every second through the ingest gateway, Kafka, the
 * stream processor and embedded ClickHouse to the query API. Then the dashboard's variables are
 * resolved against both as Grafana would (label_values → /api/v1/series), and every panel's
 * expressions run as range queries over the collection window against both.
 *
 * It fails when procstream cannot resolve job / instance / nodename, when a panel has data from
 * Prometheus and none from procstream, or when a panel's values disagree (compareSeries in
 * test/support/grafana-dashboard.ts), except for the panels in ALLOWED and the expressions in
 * ALLOWED_DIFFERENCES below, each with its reason. The table of every expression is written to
 * test-artifacts/node-exporter-full/ (summary.md; results.json; series.json with both answers).
 */
import { wideSql } from '#schemas/clickhouse/wide.ts'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_DISK_EXCLUDE } from '../../../agent/src/collectors/diskstats.ts'
import { NODE_COLLECTORS } from '../../../agent/src/collectors/node/index.ts'
import { findFreePorts } from '../../../deploy/local/ports.ts'
import {
  ManagedProcess,
  httpOk,
  probeCommand,
  startUntilReady,
} from '../../../deploy/local/service-process.ts'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { buildQueryApi } from '../../../query-api/src/server.ts'
import type { StreamProcessor } from '../../../stream-processors/src/processor.ts'
import { startProcessor } from '../../../stream-processors/src/service.ts'
import { startGatewayAgent, type GatewayAgent } from '../../support/gateway-agent.ts'
import { openGatewayTestbed, type GatewayTestbed } from '../../support/gateway-testbed.ts'
import {
  alignRange,
  compareSeries,
  interpolate,
  metricNames,
  parseDashboard,
  queryTiming,
  resolveVariables,
  toSeries,
  valueKind,
  type Comparison,
  type DashboardVariable,
  type ResolvedVariable,
  type Series,
  type VariableApi,
} from '../../support/grafana-dashboard.ts'
import { waitFor } from '../../support/wait-for.ts'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const DASHBOARD = join(REPO, 'test/fixtures/node-exporter-full.json')
const ARTIFACTS = join(REPO, 'test-artifacts/node-exporter-full')
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter'
const TENANT = 'acme'
const HOST = hostname()
const JOB = 'node'
/** How long both sides collect before the dashboard is replayed. */
const COLLECT_MS = Number(process.env.NEF_COLLECT_MS ?? 60_000)
/**
 * The range queries' step (Grafana would use ≥ 15 s here): the agent's and Prometheus's sampling
 * interval, so that irate() on each side covers every interval of the window. At a coarser step it
 * reads one interval in n at a phase that differs between the two samplers, and a burst that
 * recurs with the step's period (a flush every 5 s) falls on one side and never on the other.
 */
const STEP_MS = 1_000
/** Grafana's default for a Prometheus data source without a scrape interval setting. */
const DATASOURCE_SCRAPE_INTERVAL_MS = 15_000
const QUERY_CONCURRENCY = 4
/** Labels one side has and the other cannot: procstream's host id. */
const IGNORED_LABELS = ['host']

/**
 * Panels allowed to have data from Prometheus and none (or other values) from procstream, with why.
 * Only what is out of procstream's scope by design belongs here; a collector the agent should have
 * and lacks is a failure, not an entry.
 */
const ALLOWED: Readonly<Record<string, string>> = {
  'Time Synchronized Drift':
    'timex collector: node_timex_* come from the adjtimex(2) system call, which Node cannot make',
  'Time PLL Adjust': 'timex collector: adjtimex(2), which Node cannot make',
  'Time Synchronized Status': 'timex collector: adjtimex(2), which Node cannot make',
  'Time Misc': 'timex collector: adjtimex(2), which Node cannot make',
  'Processes Memory':
    "process_* are the node_exporter process's own metrics (Go client), not the host's; the agent reports its own health as procstream_agent_*",
  'File Descriptors':
    "process_max_fds / process_open_fds of the node_exporter process itself, not the host's",
  'CPU time spent in user and system contexts':
    "process_cpu_seconds_total of the node_exporter process itself, not the host's",
  'Node Exporter Scrape Time':
    "node_scrape_collector_duration_seconds: node_exporter's instrumentation of its own scrapes",
  'Node Exporter Scrape':
    "node_scrape_collector_success / node_textfile_scrape_error: node_exporter's own scrape status and the textfile collector, out of scope",
  'Systemd Sockets':
    'systemd collector: reads systemd over D-Bus, out of scope (off by default in node_exporter)',
  'Systemd Units State': 'systemd collector: D-Bus, out of scope (off by default in node_exporter)',
  'TCP Stat':
    'tcpstat collector: node_tcp_connection_states come from NETLINK_INET_DIAG sockets, which Node cannot open (off by default in node_exporter)',
}

/**
 * Expressions whose values may differ, by `panel title/refId`, with why: the value depends on the
 * reader, not on the host alone.
 */
const ALLOWED_DIFFERENCES: Readonly<Record<string, string>> = {
  'Processes Status/B':
    "node_procs_running counts the threads running when /proc/stat is read: node_exporter's own collector goroutines run in parallel while it reads, so its count is higher than the agent's",
  'Processes State/A':
    'node_processes_state counts processes by state at the instant of the read: those running (R), and the zombies (Z) short-lived children leave until reaped, include the readers and the pipeline they feed, so each side sees its own',
}

/**
 * node_exporter collectors the agent has beyond its typed families, by the agent's name; the names
 * node_exporter spells otherwise are mapped here (cpu_info is `--collector.cpu.info`, diskinfo is the
 * diskstats collector's node_disk_info).
 */
const COLLECTOR_FLAGS: Readonly<Record<string, string[]>> = {
  cpu_info: ['--collector.cpu.info'],
  diskinfo: [],
}

/** Newer revisions of the dashboard select the host by nodename too; procstream must resolve it. */
const NODENAME_VARIABLE: DashboardVariable = {
  name: 'nodename',
  type: 'query',
  query: 'label_values(node_uname_info{job="$job"}, nodename)',
  regex: undefined,
  sort: 1,
  multi: false,
  includeAll: false,
  current: undefined,
}

const logger = createLogger('it-node-exporter-full', { level: 'error' })

let bed: GatewayTestbed | undefined
let processor: StreamProcessor | undefined
let api: FastifyInstance | undefined
let apiUrl = ''
let readKey = ''
let exporter: ManagedProcess | undefined
let prometheus: ManagedProcess | undefined
let promUrl = ''
let gatewayAgent: GatewayAgent | undefined
let dir = ''

// ---------------------------------------------------------------------------------------------
// The Prometheus HTTP API of either side.

class PromApi implements VariableApi {
  constructor(
    readonly url: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async get(path: string, params: [string, string][]): Promise<unknown> {
    const res = await fetch(`${this.url}${path}?${new URLSearchParams(params).toString()}`, {
      headers: this.headers,
      signal: AbortSignal.timeout(60_000),
    })
    const text = await res.text()
    let body: { status?: string; data?: unknown; error?: string; errorType?: string }
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      throw new Error(`${path} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`)
    }
    if (!res.ok || body.status !== 'success') {
      throw new Error(`${body.errorType ?? `HTTP ${res.status}`}: ${body.error ?? text.slice(0, 200)}`)
    }
    return body.data
  }

  async range(query: string, startMs: number, endMs: number, stepMs: number): Promise<Series[]> {
    const data = (await this.get('/api/v1/query_range', [
      ['query', query],
      ['start', String(startMs / 1_000)],
      ['end', String(endMs / 1_000)],
      ['step', String(stepMs / 1_000)],
    ])) as { result?: unknown }
    return toSeries(data.result)
  }

  async series(match: string, startMs: number, endMs: number): Promise<Record<string, string>[]> {
    const data = await this.get('/api/v1/series', [
      ['match[]', match],
      ['start', String(startMs / 1_000)],
      ['end', String(endMs / 1_000)],
    ])
    return Array.isArray(data) ? (data as Record<string, string>[]) : []
  }

  async labelValues(
    label: string,
    match: string | undefined,
    startMs: number,
    endMs: number,
  ): Promise<string[]> {
    const params: [string, string][] = [
      ['start', String(startMs / 1_000)],
      ['end', String(endMs / 1_000)],
    ]
    if (match !== undefined) params.push(['match[]', match])
    const data = await this.get(`/api/v1/label/${label}/values`, params)
    return Array.isArray(data) ? data.map(String) : []
  }

  async labelNames(match: string | undefined, startMs: number, endMs: number): Promise<string[]> {
    const params: [string, string][] = [
      ['start', String(startMs / 1_000)],
      ['end', String(endMs / 1_000)],
    ]
    if (match !== undefined) params.push(['match[]', match])
    const data = await this.get('/api/v1/labels', params)
    return Array.isArray(data) ? data.map(String) : []
  }

  async instant(query: string, timeMs: number): Promise<{ metric: Record<string, string>; value: number }[]> {
    const data = (await this.get('/api/v1/query', [
      ['query', query],
      ['time', String(timeMs / 1_000)],
    ])) as { result?: { metric: Record<string, string>; value: [number, string] }[] }
    return (data.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
  }
}

// ---------------------------------------------------------------------------------------------
// Reference side: node_exporter scraped by Prometheus.

async function exporterFlags(): Promise<string[]> {
  const help = (await probeCommand(NODE_EXPORTER, ['--help'])) ?? ''
  const known = new Set(
    [...help.matchAll(/--\[no-\]collector\.([a-z_0-9]+)\b|--collector\.([a-z_0-9]+)\b/g)].map(
      (m) => m[1] ?? m[2],
    ),
  )
  // The agent leaves zram out of node_disk_* as node_exporter does since 2024; 1.5 does not yet.
  const flags = new Set<string>([`--collector.diskstats.device-exclude=${DEFAULT_DISK_EXCLUDE.source}`])
  for (const c of NODE_COLLECTORS) {
    const mapped = COLLECTOR_FLAGS[c.name]
    if (mapped) for (const f of mapped) flags.add(f)
    else if (known.has(c.name)) flags.add(`--collector.${c.name}`)
  }
  return [...flags]
}

async function startReference(): Promise<void> {
  if ((await probeCommand(NODE_EXPORTER, ['--version'])) === null) {
    throw new Error(
      `${NODE_EXPORTER} not found: install Debian's prometheus-node-exporter (npm run setup does)`,
    )
  }
  const [exporterPort, promPort] = await findFreePorts(2)
  if (exporterPort === undefined || promPort === undefined) throw new Error('no free ports')
  const exporterUrl = `http://127.0.0.1:${exporterPort}/metrics`
  exporter = await startUntilReady({
    start: {
      command: NODE_EXPORTER,
      args: [`--web.listen-address=127.0.0.1:${exporterPort}`, ...(await exporterFlags())],
      logFile: join(dir, 'node_exporter.log'),
      errorCode: 'NODE_EXPORTER_START_FAILED',
      what: 'node_exporter',
    },
    probe: () => httpOk(exporterUrl),
    timeoutMs: 20_000,
    intervalMs: 100,
    exitedCode: 'NODE_EXPORTER_EXITED',
    notReadyCode: 'NODE_EXPORTER_NOT_READY',
    notReady: `not answering on ${exporterUrl} after 20 s`,
  })
  // Job "node" and the host name as instance: the labels procstream's query API gives every series.
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    `  - job_name: ${JOB}`,
    '    static_configs:',
    `      - targets: ['127.0.0.1:${exporterPort}']`,
    '        labels:',
    `          instance: ${JSON.stringify(HOST)}`,
    '',
  ].join('\n')
  await writeFile(join(dir, 'prometheus.yml'), config)
  promUrl = `http://127.0.0.1:${promPort}`
  prometheus = await startUntilReady({
    start: {
      command: 'prometheus',
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
      ],
      logFile: join(dir, 'prometheus.log'),
      errorCode: 'PROMETHEUS_START_FAILED',
      what: 'prometheus',
    },
    probe: () => httpOk(`${promUrl}/-/ready`),
    timeoutMs: 30_000,
    intervalMs: 100,
    exitedCode: 'PROMETHEUS_EXITED',
    notReadyCode: 'PROMETHEUS_NOT_READY',
    notReady: `not ready on ${promUrl} after 30 s`,
  })
}

// ---------------------------------------------------------------------------------------------
// procstream: agent → gateway → Kafka → processor → ClickHouse → query API.

async function startProcstream(): Promise<void> {
  bed = await openGatewayTestbed('nefull', { partitions: 1 })
  processor = await startProcessor({
    config: bed.config,
    kafka: createKafka(bed.brokers, 'it-nefull', logger),
    clickhouse: bed.clickhouse,
    logger,
  })
  readKey = await bed.key(TENANT, ['read'])
  api = await buildQueryApi({
    clickhouse: bed.clickhouse,
    database: bed.config.clickhouse.database,
    keys: bed.auth,
    logger,
    maxPoints: 11_000,
    readiness: [],
    rateLimit: { requestsPerS: 10_000, burstS: 10 },
    promql: { timeoutMs: 60_000, maxBuckets: 5_000_000, cacheTtlMs: 0 },
  })
  apiUrl = await api.listen({ host: '127.0.0.1', port: 0 })
}

async function newestSampleMs(metric: string): Promise<number> {
  if (!bed) return 0
  const rs = await bed.clickhouse.query({
    query: `SELECT toUnixTimestamp64Milli(max(ts)) AS t FROM (${wideSql({
      database: bed.config.clickhouse.database,
      source: 'points',
      seriesWhere: 'tenant = {tenant:String} AND metric = {metric:String}',
      tenant: '{tenant:String}',
    })})`,
    query_params: { tenant: TENANT, metric },
    format: 'JSONEachRow',
  })
  const rows = await rs.json<{ t: string | number }>()
  return Number(rows[0]?.t ?? 0)
}

// ---------------------------------------------------------------------------------------------
// The replay.

interface Row {
  panelId: number
  row: string
  title: string
  refId: string
  expr: string
  query: string
  hidden: boolean
  metrics: string[]
  kind: string
  promSeries: number | undefined
  promError: string | undefined
  oursSeries: number | undefined
  oursError: string | undefined
  comparison: Comparison | undefined
  /** Both answers, for the report's series.json. */
  series: { prom: Series[] | undefined; ours: Series[] | undefined }
}

interface PanelResult {
  panelId: number
  row: string
  title: string
  promData: boolean
  oursData: boolean
  agree: boolean
  allowed: string | undefined
  /** Metrics of the targets Prometheus answered and procstream did not. */
  missingMetrics: string[]
}

function allowedDifference(r: Row): string | undefined {
  return ALLOWED_DIFFERENCES[`${r.title}/${r.refId}`]
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i] as T)
      }
    }),
  )
  return out
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').slice(0, 160)
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

function variablesTable(title: string, vars: ResolvedVariable[]): string[] {
  return [
    `### Variables: ${title}`,
    '',
    '| variable | query | options | value |',
    '| --- | --- | --- | --- |',
    ...vars.map(
      (v) =>
        `| ${v.name} | \`${cell(v.query)}\` | ${cell(v.options.slice(0, 5).join(', '))}${v.options.length > 5 ? ', …' : ''} | ${cell(v.value ?? '(none)')} |`,
    ),
    '',
  ]
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'procstream-nefull-'))
  await startProcstream()
  await startReference()
}, 120_000)

afterAll(async () => {
  await gatewayAgent?.agent.kill()
  await prometheus?.stop(10_000)
  await exporter?.stop(5_000)
  await api?.close()
  await processor?.stop()
  await bed?.close()
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

describe('Node Exporter Full against procstream and Prometheus + node_exporter', () => {
  it('resolves the variables and has data, agreeing with Prometheus, wherever Prometheus has', async () => {
    if (!bed) throw new Error('testbed did not start')
    const startedAt = Date.now()
    gatewayAgent = await startGatewayAgent(bed, {
      dir,
      hostId: `nefull-${process.pid}`,
      tenant: TENANT,
      // The last --interval wins: every second, as the agent runs by default.
      extraArgs: ['--interval', '1000'],
    })
    const t0 = Date.now()
    await new Promise((r) => setTimeout(r, COLLECT_MS))
    const t1 = Date.now()
    // Stop both sources; what they took until t1 is what is compared.
    await gatewayAgent.agent.stop()
    await exporter?.stop(5_000)
    await waitFor(
      'procstream to store the samples up to the end of the window',
      async () => ((await newestSampleMs('node_load1')) >= t1 - 3_000 ? true : undefined),
      30_000,
    )

    const prom = new PromApi(promUrl)
    const ours = new PromApi(apiUrl, { authorization: `Bearer ${readKey}` })
    const dashboard = parseDashboard(JSON.parse(await readFile(DASHBOARD, 'utf8')))
    const variables = [...dashboard.variables, NODENAME_VARIABLE]
    const resolveOn = async (side: PromApi): Promise<ResolvedVariable[] | string> => {
      try {
        return await resolveVariables(variables, side, {
          startMs: t0,
          endMs: t1,
          prefer: { job: JOB, node: HOST },
        })
      } catch (err) {
        return errorText(err)
      }
    }
    const promVars = await resolveOn(prom)
    const ourVars = await resolveOn(ours)
    if (typeof promVars === 'string') throw new Error(`Prometheus variables did not resolve: ${promVars}`)
    const values = (vars: ResolvedVariable[]): Record<string, string> =>
      Object.fromEntries(vars.flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]])))
    const promValues = values(promVars)
    expect(promValues).toMatchObject({ job: JOB, node: HOST })
    const ourValues = typeof ourVars === 'string' ? {} : values(ourVars)
    // Panels run with procstream's own values where it resolved them, else with Prometheus's (the
    // same host), so that the panels are compared even while a variable does not resolve.
    const queryValues = { ...promValues, ...ourValues }

    // Every visible target of every panel, as a range query over the window, on both sides.
    const window = alignRange(t0 + STEP_MS, t1, STEP_MS)
    const jobs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ panel, target })))
    const rows = await mapLimit(jobs, QUERY_CONCURRENCY, async ({ panel, target }): Promise<Row> => {
      const timing = {
        ...queryTiming({
          rangeMs: t1 - t0,
          ...(panel.maxDataPoints !== undefined && { maxDataPoints: panel.maxDataPoints }),
          scrapeIntervalMs: DATASOURCE_SCRAPE_INTERVAL_MS,
          ...(panel.interval !== undefined && { panelInterval: panel.interval }),
          ...(target.interval !== undefined && { targetInterval: target.interval }),
          intervalFactor: target.intervalFactor,
        }),
        stepMs: STEP_MS,
      }
      const query = interpolate(target.expr, { variables: queryValues, timing, fromMs: t0, toMs: t1 })
      const row: Row = {
        panelId: panel.id,
        row: panel.row ?? '',
        title: panel.title,
        refId: target.refId,
        expr: target.expr,
        query,
        hidden: target.hide,
        metrics: metricNames(target.expr),
        kind: valueKind(target.expr),
        promSeries: undefined,
        promError: undefined,
        oursSeries: undefined,
        oursError: undefined,
        comparison: undefined,
        series: { prom: undefined, ours: undefined },
      }
      // Grafana does not run hidden targets.
      if (target.hide) return row
      const [p, o] = await Promise.allSettled([
        prom.range(query, window.startMs, window.endMs, STEP_MS),
        ours.range(query, window.startMs, window.endMs, STEP_MS),
      ])
      const pSeries = p.status === 'fulfilled' ? p.value.filter((s) => s.values.length > 0) : undefined
      const oSeries = o.status === 'fulfilled' ? o.value.filter((s) => s.values.length > 0) : undefined
      row.promSeries = pSeries?.length
      row.promError = p.status === 'rejected' ? errorText(p.reason) : undefined
      row.oursSeries = oSeries?.length
      row.oursError = o.status === 'rejected' ? errorText(o.reason) : undefined
      row.series = { prom: pSeries, ours: oSeries }
      if (pSeries && oSeries) {
        row.comparison = compareSeries(pSeries, oSeries, {
          kind: valueKind(target.expr),
          ignoreLabels: IGNORED_LABELS,
        })
      }
      return row
    })

    // Per panel: data on each side, agreement of every target Prometheus answered.
    const panels: PanelResult[] = dashboard.panels.map((panel) => {
      const mine = rows.filter((r) => r.panelId === panel.id && !r.hidden)
      const promRows = mine.filter((r) => (r.promSeries ?? 0) > 0)
      const missing = promRows.filter((r) => (r.oursSeries ?? 0) === 0)
      return {
        panelId: panel.id,
        row: panel.row ?? '',
        title: panel.title,
        promData: promRows.length > 0,
        oursData: mine.some((r) => (r.oursSeries ?? 0) > 0),
        agree:
          promRows.length > 0 &&
          promRows.every((r) => r.comparison?.agree === true || allowedDifference(r) !== undefined),
        allowed: ALLOWED[panel.title],
        missingMetrics: [...new Set(missing.flatMap((r) => r.metrics))],
      }
    })
    const withProm = panels.filter((p) => p.promData)
    const counts = {
      panels: panels.length,
      withPrometheusData: withProm.length,
      withProcstreamData: panels.filter((p) => p.oursData).length,
      withBoth: withProm.filter((p) => p.oursData).length,
      agreeing: withProm.filter((p) => p.agree).length,
      expressions: rows.length,
      expressionsRun: rows.filter((r) => !r.hidden).length,
      expressionsWithPrometheusData: rows.filter((r) => (r.promSeries ?? 0) > 0).length,
      expressionsWithProcstreamData: rows.filter((r) => (r.oursSeries ?? 0) > 0).length,
      expressionsAgreeing: rows.filter((r) => (r.promSeries ?? 0) > 0 && r.comparison?.agree === true).length,
    }
    const missingByMetric = new Map<string, string[]>()
    for (const p of withProm.filter((x) => !x.oursData || x.missingMetrics.length > 0)) {
      for (const m of p.missingMetrics) missingByMetric.set(m, [...(missingByMetric.get(m) ?? []), p.title])
    }
    const noData = withProm.filter((p) => !p.oursData && p.allowed === undefined)
    const disagreeing = withProm.filter((p) => p.oursData && !p.agree && p.allowed === undefined)

    // The report.
    const lines = [
      `# Node Exporter Full: procstream vs Prometheus + node_exporter`,
      '',
      `Host \`${HOST}\`, window ${new Date(window.startMs).toISOString()} – ${new Date(window.endMs).toISOString()} ` +
        `(${Math.round((t1 - t0) / 1000)} s collected, step ${STEP_MS / 1000} s, agent every 1 s, Prometheus scrape every 1 s; ` +
        `$__rate_interval as Grafana with a ${DATASOURCE_SCRAPE_INTERVAL_MS / 1000} s data source scrape interval). ` +
        `Test wall time ${Math.round((Date.now() - startedAt) / 1000)} s.`,
      '',
      '## Counts',
      '',
      ...Object.entries(counts).map(([k, v]) => `- ${k}: ${v}`),
      '',
      ...variablesTable('Prometheus', promVars),
      ...(typeof ourVars === 'string'
        ? ['### Variables: procstream', '', `did not resolve: ${ourVars}`, '']
        : variablesTable('procstream', ourVars)),
      '## Panels with Prometheus data and no procstream data, by missing metric',
      '',
      ...[...missingByMetric.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([m, titles]) => `- \`${m}\`: ${[...new Set(titles)].join('; ')}`),
      '',
      '## Panels that disagree',
      '',
      ...withProm
        .filter((p) => p.oursData && !p.agree)
        .map((p) => {
          const why = rows
            .filter((r) => r.panelId === p.panelId && (r.promSeries ?? 0) > 0 && r.comparison?.agree !== true)
            .map((r) => `${r.refId}: ${r.oursError ?? r.comparison?.reason ?? 'no data'}`)
          return `- ${p.title}${p.allowed ? ' (allowed)' : ''}: ${why.join('; ')}`
        }),
      '',
      '## Allowed (out of scope by design)',
      '',
      ...Object.entries(ALLOWED).map(([t, why]) => `- ${t}: ${why}`),
      '',
      '## Allowed value differences',
      '',
      ...Object.entries(ALLOWED_DIFFERENCES).map(([t, why]) => `- ${t}: ${why}`),
      '',
      '## Every expression',
      '',
      '| row | panel | ref | expr | prom | procstream | agree | note |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map((r) => {
        const prom = r.hidden ? 'hidden' : (r.promError ?? String(r.promSeries ?? 0))
        const ours = r.hidden ? 'hidden' : (r.oursError ?? String(r.oursSeries ?? 0))
        const agree =
          r.hidden || (r.promSeries ?? 0) === 0
            ? '—'
            : r.comparison?.agree === true
              ? 'yes'
              : allowedDifference(r) !== undefined
                ? 'no (allowed)'
                : 'no'
        const note = r.comparison
          ? `${r.kind}; ${r.comparison.reason}${r.comparison.emptyLabels.length > 0 ? `; procstream returns empty-valued labels: ${r.comparison.emptyLabels.join(', ')}` : ''}${r.comparison.onlyReference.length > 0 ? `; only in prom: ${r.comparison.onlyReference.slice(0, 3).join(' / ')}` : ''}${r.comparison.onlyCandidate.length > 0 ? `; only in procstream: ${r.comparison.onlyCandidate.slice(0, 3).join(' / ')}` : ''}`
          : r.kind
        return `| ${cell(r.row)} | ${cell(r.title)} | ${cell(r.refId)} | \`${cell(r.expr)}\` | ${cell(prom)} | ${cell(ours)} | ${agree} | ${cell(note)} |`
      }),
      '',
    ]
    await mkdir(ARTIFACTS, { recursive: true })
    await writeFile(join(ARTIFACTS, 'summary.md'), lines.join('\n'))
    await writeFile(
      join(ARTIFACTS, 'results.json'),
      `${JSON.stringify({ host: HOST, window, counts, promVars, ourVars, panels, rows: rows.map(({ series: _s, ...r }) => r) }, null, 2)}\n`,
    )
    await writeFile(
      join(ARTIFACTS, 'series.json'),
      JSON.stringify(
        rows.map((r) => ({ title: r.title, refId: r.refId, kind: r.kind, query: r.query, ...r.series })),
      ),
    )

    // procstream resolves the variables Grafana needs to pick this host.
    expect(typeof ourVars === 'string' ? ourVars : ourValues).toMatchObject({
      job: JOB,
      node: HOST,
      nodename: promValues.nodename,
    })
    expect(
      noData.map((p) => `${p.title} (${p.missingMetrics.join(', ')})`),
      'panels with Prometheus data and none from procstream',
    ).toEqual([])
    expect(
      disagreeing.map((p) => p.title),
      'panels whose values disagree (see summary.md)',
    ).toEqual([])
  }, 175_000)
})
