/**
 * Agent cost on this host at 1, 10 and 100 Hz (the bundled agent under plain node, as shipped), beside
 * node_exporter 1.5 scraped at the same rate with the same collectors: CPU share of one core and peak
 * RSS of each process over the same window. The agent sends to a real local Kafka broker started for
 * the run; the scraper's own cost is not counted for node_exporter, just as Kafka's is not counted for
 * the agent.
 *
 * node_exporter runs every collector the agent runs by default (derived from the agent's schedule,
 * nodeExporterCollectors below), on every scrape. The agent runs them in two ways:
 *   - `shipped`: its default schedule, as hosts run it: every entry at the rate except the slow inputs
 *     at their own floors (filesystem, hwmon, diskinfo, … every 10 s; dmi, os, uname, cpu_info every
 *     60 s), so a collection costs what it costs on a host;
 *   - `every-tick`: every entry at the rate (--family-intervals), the same work node_exporter does per
 *     scrape, for a like-for-like cost of one collection.
 * A collection of the agent is one tick of the rate; ticks the agent missed (read from its own
 * /metrics at both ends of the window) are not counted as collections.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureKafkaJars, ensureTopics, startKafka } from '../deploy/local/kafka.ts'
import { findFreePortPair, findFreePorts } from '../deploy/local/ports.ts'
import { AGENT_ENV, AGENT_NODE_FLAGS, buildAgent } from '../agent/build.ts'
import { defaultSchedule, SCHEDULED } from '../agent/src/schedule.ts'
import type { ProcFamily } from '#schemas/src/families.ts'
import { measure } from '../loadtest/src/process-usage.ts'

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url))
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter'

/** node_exporter 1.5's collectors (and collector settings) that produce each typed family. */
const FAMILY_FLAGS: Readonly<Partial<Record<string, readonly string[]>>> &
  Record<ProcFamily, readonly string[]> = {
  cpu: ['cpu', 'stat'],
  memory: ['meminfo'],
  network: ['netdev'],
  disk: ['diskstats'],
  load: ['loadavg'],
  pressure: ['pressure'],
  vmstat: ['vmstat'],
  filesystem: ['filesystem'],
}
/** The agent's collectors that are part of another node_exporter collector; the rest share its names. */
const PART_OF: Readonly<Partial<Record<string, readonly string[]>>> = {
  cpu_info: ['cpu', 'cpu.info'],
  diskinfo: ['diskstats'],
}

export type AgentMode = 'shipped' | 'every-tick'

/** The schedule entries the agent runs by default (its own health aside). */
export function agentDefaultEntries(): string[] {
  const schedule = defaultSchedule(1000)
  return SCHEDULED.filter((name) => name !== 'agent' && schedule[name]?.enabled === true)
}

/**
 * node_exporter `--collector.X` settings for the agent's default entries. `available`: the collectors
 * this node_exporter has (from its --help); an entry without one (watchdog, new in 1.9) is listed in
 * `missing` and left out.
 */
export function nodeExporterCollectors(
  entries: readonly string[],
  available: ReadonlySet<string>,
): { flags: string[]; missing: string[] } {
  const flags = new Set<string>()
  const missing: string[] = []
  for (const entry of entries) {
    const settings = FAMILY_FLAGS[entry] ?? PART_OF[entry] ?? [entry]
    if (!available.has(settings[0] ?? '')) {
      missing.push(entry)
      continue
    }
    for (const s of settings) flags.add(s)
  }
  return { flags: [...flags].sort(), missing }
}

/** The collectors a node_exporter binary has, from its --help (`--[no-]collector.arp`). */
export function nodeExporterAvailable(binary: string = NODE_EXPORTER): Set<string> {
  const help = execFileSync(binary, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  const out = new Set<string>()
  for (const m of help.matchAll(/^\s+--(?:\[no-\])?collector\.([a-z_]+)\s/gm)) if (m[1]) out.add(m[1])
  return out
}

/** --family-intervals that run every default entry at `intervalMs`, floors included. */
export function everyTickIntervals(intervalMs: number): string {
  const schedule = defaultSchedule(intervalMs)
  return agentDefaultEntries()
    .filter((name) => (schedule[name]?.intervalMs ?? intervalMs) !== intervalMs)
    .map((name) => `${name}=${String(intervalMs)}`)
    .join(',')
}

/** One measurement of both processes at one rate; per-run values in `runs`, medians in the rest. */
export interface CostRow {
  hz: number
  mode: AgentMode
  seconds: number
  agentCpuPercent: number
  agentPeakRssMb: number
  /** Ticks of the rate the agent actually ran per second (the rate less missed ticks). */
  agentCollectionsPerSecond: number
  nodeExporterCpuPercent: number
  nodeExporterPeakRssMb: number
  nodeExporterScrapesPerSecond: number
  /** node_exporter CPU per collection ÷ agent CPU per collection. */
  ratio: number
  /** 1-minute load average at the end of each run. */
  load1: number
  runs: {
    agentCpuPercent: number
    agentPeakRssMb: number
    agentCollectionsPerSecond: number
    nodeExporterCpuPercent: number
    nodeExporterPeakRssMb: number
    nodeExporterScrapesPerSecond: number
    ratio: number
    load1: number
  }[]
}

async function agentCounter(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text()
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return Number(m?.[1] ?? NaN)
}

export async function agentRow(
  agentBundle: string,
  hz: number,
  seconds: number,
  brokers: string,
  topic: string,
  /** node/V8 flags, environment and a per-second look at the process (bench/agent-floor.ts). */
  launch: {
    nodeFlags?: readonly string[]
    env?: Record<string, string>
    onTick?: (pid: number) => void
    /** Extra agent arguments (--family-intervals). */
    args?: readonly string[]
  } = {},
): Promise<{ cpu: number; rss: number; collectionsPerSecond: number }> {
  const [metricsPort] = await findFreePorts(1)
  const metricsUrl = `http://127.0.0.1:${String(metricsPort)}/metrics`
  const child = spawn(
    process.execPath,
    [
      ...(launch.nodeFlags ?? []),
      agentBundle,
      '--brokers',
      brokers,
      '--topic',
      topic,
      '--interval',
      String(1000 / hz),
      '--metrics-listen',
      `127.0.0.1:${String(metricsPort)}`,
      ...(launch.args ?? []),
    ],
    { cwd: REPO_ROOT, stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn', ...launch.env } },
  )
  try {
    await new Promise((r) => setTimeout(r, 5000)) // start-up and JIT warm-up are not steady state
    const missed = 'procstream_agent_ticks_missed_total'
    const missedBefore = await agentCounter(metricsUrl, missed).catch(() => NaN)
    const t0 = performance.now()
    const m = await measure(child.pid ?? 0, seconds, () => launch.onTick?.(child.pid ?? 0))
    const missedAfter = await agentCounter(metricsUrl, missed).catch(() => NaN)
    const missedPerSecond = (missedAfter - missedBefore) / ((performance.now() - t0) / 1000)
    return {
      cpu: m.cpuPercent,
      rss: m.peakRssBytes,
      // Unknown (no /metrics answer) counts as keeping up, as before the count was read.
      collectionsPerSecond: Number.isFinite(missedPerSecond) ? Math.max(hz - missedPerSecond, 0) : hz,
    }
  } finally {
    child.kill('SIGKILL')
  }
}

export async function nodeExporterRow(
  hz: number,
  seconds: number,
  collectors: readonly string[],
): Promise<{ cpu: number; rss: number; scrapesPerSecond: number }> {
  const [port] = await findFreePorts(1)
  const child = spawn(
    NODE_EXPORTER,
    [
      `--web.listen-address=127.0.0.1:${String(port)}`,
      '--collector.disable-defaults',
      ...collectors.map((c) => `--collector.${c}`),
    ],
    { stdio: 'ignore' },
  )
  const url = `http://127.0.0.1:${String(port)}/metrics`
  let scrapes = 0
  const stop = new AbortController()
  const scraper = (async () => {
    await new Promise((r) => setTimeout(r, 1000))
    let next = performance.now()
    while (!stop.signal.aborted) {
      await (await fetch(url)).text()
      scrapes++
      next += 1000 / hz
      const wait = next - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      // A scrape slower than the rate starts the next at once, as Prometheus would not: no burst to catch up.
      else next = performance.now()
    }
  })()
  try {
    await new Promise((r) => setTimeout(r, 5000))
    const before = scrapes
    const t0 = performance.now()
    const m = await measure(child.pid ?? 0, seconds)
    return {
      cpu: m.cpuPercent,
      rss: m.peakRssBytes,
      scrapesPerSecond: (scrapes - before) / ((performance.now() - t0) / 1000),
    }
  } finally {
    stop.abort()
    await scraper.catch(() => undefined)
    child.kill('SIGKILL')
  }
}

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}

export interface AgentVsNodeExporterOptions {
  seconds: number
  rates: readonly number[]
  modes?: readonly AgentMode[]
  /** Each row is measured this many times (interleaved: every rate and mode once, then again). */
  repeats?: number
  /** Progress lines (one per run), e.g. to stderr. */
  log?: (line: string) => void
}

export interface AgentVsNodeExporter {
  /** The node_exporter collectors run, and the agent entries node_exporter 1.5 has no collector for. */
  collectors: string[]
  missing: string[]
  rows: CostRow[]
}

export async function benchAgentVsNodeExporter(o: AgentVsNodeExporterOptions): Promise<AgentVsNodeExporter> {
  const modes = o.modes ?? ['shipped', 'every-tick']
  const repeats = o.repeats ?? 1
  const { flags: collectors, missing } = nodeExporterCollectors(
    agentDefaultEntries(),
    nodeExporterAvailable(),
  )
  const dir = mkdtempSync(join(tmpdir(), 'procstream-bench-'))
  await ensureKafkaJars()
  // The agent as hosts run it: bundled, under plain node (npm run build:agent).
  const agentBundle = await buildAgent(join(dir, 'dist/'))
  const [port, controllerPort] = await findFreePortPair()
  const kafka = await startKafka({ dataDir: join(dir, 'kafka'), port, controllerPort, partitions: 1 })
  const topic = 'bench-agent'
  await ensureTopics(kafka.brokers, [{ name: topic, partitions: 1 }])
  const rows = new Map<string, CostRow>()
  try {
    for (let r = 0; r < repeats; r++) {
      for (const hz of o.rates) {
        // node_exporter does the same work whatever the agent's mode: measured once per rate and repeat.
        const ne = await nodeExporterRow(hz, o.seconds, collectors)
        for (const mode of modes) {
          // Launched as deploy/ launches it, so the numbers are the shipped agent's.
          const agent = await agentRow(agentBundle, hz, o.seconds, kafka.brokers.join(','), topic, {
            nodeFlags: AGENT_NODE_FLAGS,
            env: AGENT_ENV,
            args: mode === 'every-tick' ? ['--family-intervals', everyTickIntervals(1000 / hz)] : [],
          })
          const agentPerCollection = agent.cpu / Math.max(agent.collectionsPerSecond, 1e-9)
          const nePerCollection = ne.cpu / Math.max(ne.scrapesPerSecond, 1e-9)
          const run = {
            agentCpuPercent: agent.cpu,
            agentPeakRssMb: agent.rss / 2 ** 20,
            agentCollectionsPerSecond: agent.collectionsPerSecond,
            nodeExporterCpuPercent: ne.cpu,
            nodeExporterPeakRssMb: ne.rss / 2 ** 20,
            nodeExporterScrapesPerSecond: ne.scrapesPerSecond,
            ratio: agentPerCollection > 0 ? nePerCollection / agentPerCollection : Number.POSITIVE_INFINITY,
            load1: loadavg()[0] ?? NaN,
          }
          o.log?.(
            `${String(hz)} Hz ${mode}: agent ${run.agentCpuPercent.toFixed(2)} % ${run.agentPeakRssMb.toFixed(0)} MB ` +
              `${run.agentCollectionsPerSecond.toFixed(1)}/s, node_exporter ${run.nodeExporterCpuPercent.toFixed(2)} % ` +
              `${run.nodeExporterPeakRssMb.toFixed(0)} MB ${run.nodeExporterScrapesPerSecond.toFixed(1)}/s, ` +
              `ratio ${run.ratio.toFixed(2)}, load ${run.load1.toFixed(1)}`,
          )
          const key = `${String(hz)} ${mode}`
          const row = rows.get(key) ?? { hz, mode, seconds: o.seconds, ...run, runs: [] }
          row.runs.push(run)
          rows.set(key, row)
        }
      }
    }
  } finally {
    await kafka.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  const out = [...rows.values()].map((row) => {
    const m = (k: keyof CostRow['runs'][number]): number => median(row.runs.map((run) => run[k]))
    return {
      ...row,
      agentCpuPercent: m('agentCpuPercent'),
      agentPeakRssMb: m('agentPeakRssMb'),
      agentCollectionsPerSecond: m('agentCollectionsPerSecond'),
      nodeExporterCpuPercent: m('nodeExporterCpuPercent'),
      nodeExporterPeakRssMb: m('nodeExporterPeakRssMb'),
      nodeExporterScrapesPerSecond: m('nodeExporterScrapesPerSecond'),
      ratio: m('ratio'),
      load1: m('load1'),
    }
  })
  out.sort((a, b) => a.hz - b.hz || modes.indexOf(a.mode) - modes.indexOf(b.mode))
  return { collectors, missing, rows: out }
}

/** The markdown table bench/README.md keeps (medians; runs in brackets when repeated). */
export function costMarkdown(result: AgentVsNodeExporter): string {
  const runs = (row: CostRow, k: keyof CostRow['runs'][number], digits: number): string =>
    row.runs.length > 1 ? ` (${row.runs.map((r) => r[k].toFixed(digits)).join(' / ')})` : ''
  const lines = [
    `node_exporter 1.5 collectors: ${result.collectors.join(', ')}${result.missing.length > 0 ? `; not in node_exporter 1.5: ${result.missing.join(', ')}` : ''}`,
    '',
    '| rate | agent schedule | agent CPU % of a core | agent collections/s | agent RSS MB | node_exporter CPU % | node_exporter scrapes/s | node_exporter RSS MB | ratio per collection (node_exporter ÷ agent) | load |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const r of result.rows) {
    lines.push(
      `| ${String(r.hz)} Hz | ${r.mode} | ${r.agentCpuPercent.toFixed(2)}${runs(r, 'agentCpuPercent', 2)} | ${r.agentCollectionsPerSecond.toFixed(1)} | ${r.agentPeakRssMb.toFixed(0)}${runs(r, 'agentPeakRssMb', 0)} | ${r.nodeExporterCpuPercent.toFixed(2)}${runs(r, 'nodeExporterCpuPercent', 2)} | ${r.nodeExporterScrapesPerSecond.toFixed(1)} | ${r.nodeExporterPeakRssMb.toFixed(0)} | ${r.ratio.toFixed(2)}×${runs(r, 'ratio', 2)} | ${r.load1.toFixed(1)} |`,
    )
  }
  return lines.join('\n')
}

if (import.meta.url === new URL(`file://${process.argv[1] ?? ''}`).href) {
  const { parseArgs } = await import('node:util')
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      repeats: { type: 'string' },
      rates: { type: 'string' },
      modes: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  const result = await benchAgentVsNodeExporter({
    seconds: Number(values.seconds ?? 60),
    repeats: Number(values.repeats ?? 1),
    rates: (values.rates ?? '1,10,100').split(',').map(Number),
    modes: (values.modes ?? 'shipped,every-tick').split(',') as AgentMode[],
    log: (line) => process.stderr.write(`${line}\n`),
  })
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${costMarkdown(result)}\n`)
}
