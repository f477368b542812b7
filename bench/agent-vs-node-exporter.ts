/**
 * Agent cost on this host at 1, 10 and 100 Hz (the bundled agent under plain node, as shipped), beside node_exporter scraped at the same rate for the
 * same families: CPU share of one core and peak RSS of each process over the same window. The agent
 * sends to a real local Kafka broker started for the run; the scraper's own cost is not counted for
 * node_exporter, just as Kafka's is not counted for the agent.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ensureKafkaJars, ensureTopics, startKafka } from '../deploy/local/kafka.ts'
import { findFreePortPair, findFreePorts } from '../deploy/local/ports.ts'
import { AGENT_ENV, AGENT_NODE_FLAGS, buildAgent } from '../agent/build.ts'
import { measure } from './process-usage.ts'

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url))
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter'
const COLLECTORS = ['cpu', 'meminfo', 'netdev', 'diskstats', 'loadavg', 'stat']

export interface CostRow {
  hz: number
  seconds: number
  agentCpuPercent: number
  agentPeakRssMb: number
  nodeExporterCpuPercent: number
  nodeExporterPeakRssMb: number
  nodeExporterScrapesPerSecond: number
  /** node_exporter CPU per collection ÷ agent CPU per collection. */
  ratio: number
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
  } = {},
): Promise<{ cpu: number; rss: number }> {
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
      'off',
    ],
    { cwd: REPO_ROOT, stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'warn', ...launch.env } },
  )
  try {
    await new Promise((r) => setTimeout(r, 5000)) // start-up and JIT warm-up are not steady state
    const m = await measure(child.pid ?? 0, seconds, () => launch.onTick?.(child.pid ?? 0))
    return { cpu: m.cpuPercent, rss: m.peakRssBytes }
  } finally {
    child.kill('SIGKILL')
  }
}

async function nodeExporterRow(
  hz: number,
  seconds: number,
): Promise<{ cpu: number; rss: number; scrapesPerSecond: number }> {
  const [port] = await findFreePorts(1)
  const child = spawn(
    NODE_EXPORTER,
    [
      `--web.listen-address=127.0.0.1:${port}`,
      '--collector.disable-defaults',
      ...COLLECTORS.map((c) => `--collector.${c}`),
    ],
    { stdio: 'ignore' },
  )
  const url = `http://127.0.0.1:${port}/metrics`
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
    }
  })()
  try {
    await new Promise((r) => setTimeout(r, 5000))
    const before = scrapes
    const m = await measure(child.pid ?? 0, seconds)
    return { cpu: m.cpuPercent, rss: m.peakRssBytes, scrapesPerSecond: (scrapes - before) / seconds }
  } finally {
    stop.abort()
    await scraper.catch(() => undefined)
    child.kill('SIGKILL')
  }
}

export async function benchAgentVsNodeExporter(seconds: number, rates: number[]): Promise<CostRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'procstream-bench-'))
  await ensureKafkaJars()
  // The agent as hosts run it: bundled, under plain node (npm run build:agent).
  const agentBundle = await buildAgent(join(dir, 'dist/'))
  const [port, controllerPort] = await findFreePortPair()
  const kafka = await startKafka({ dataDir: join(dir, 'kafka'), port, controllerPort, partitions: 1 })
  const topic = 'bench-agent'
  await ensureTopics(kafka.brokers, [{ name: topic, partitions: 1 }])
  const rows: CostRow[] = []
  try {
    for (const hz of rates) {
      // Launched as deploy/ launches it, so the numbers are the shipped agent's.
      const agent = await agentRow(agentBundle, hz, seconds, kafka.brokers.join(','), topic, {
        nodeFlags: AGENT_NODE_FLAGS,
        env: AGENT_ENV,
      })
      const ne = await nodeExporterRow(hz, seconds)
      const agentPerCollection = agent.cpu / hz
      const nePerCollection = ne.cpu / Math.max(ne.scrapesPerSecond, 1e-9)
      rows.push({
        hz,
        seconds,
        agentCpuPercent: agent.cpu,
        agentPeakRssMb: agent.rss / 2 ** 20,
        nodeExporterCpuPercent: ne.cpu,
        nodeExporterPeakRssMb: ne.rss / 2 ** 20,
        nodeExporterScrapesPerSecond: ne.scrapesPerSecond,
        ratio: agentPerCollection > 0 ? nePerCollection / agentPerCollection : Number.POSITIVE_INFINITY,
      })
    }
  } finally {
    await kafka.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}
