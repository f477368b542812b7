/**
 * `npm run loadtest -- --scenario NAME --out DIR [--hosts N] [--interval-ms N] [--duration-s N]
 *  [--partitions N] [--brokers host:port,…] [--tenant NAME] [--baseline FILE]`
 *
 * Runs a simulated fleet through the whole pipeline on this machine (a Kafka broker, started here
 * unless --brokers names one; a stream processor and the query API over embedded ClickHouse; the
 * simulator), watches it from outside, then audits every (host, sequence) produced against what is
 * stored and writes DIR/report.json, report.md and report.html. Exit status: 0 when the audit is
 * exact, 1 when it is not, 2 for bad options or an unreachable broker (before any load), 3 when a
 * figure is more than 20 % worse than --baseline's.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { ConfigError } from '#platform/errors.ts'
import { ensureTopics, startKafka, type LocalKafka } from '../../deploy/local/kafka.ts'
import { findFreePortPair, findFreePorts } from '../../deploy/local/ports.ts'
import { startChild } from './child.ts'
import { FreshnessProbe, percentiles, processorMetrics, ProcessWatch, sql } from './observe.ts'
import type { PipelineMessage, PipelineSpec } from './pipeline.ts'
import { Progress } from './progress.ts'
import {
  compareWithBaseline,
  markdown,
  processFigures,
  writeReport,
  type Report,
  type TimelinePoint,
} from './report.ts'
import { resolveOptions, type RunOptions } from './scenarios.ts'
import type { SimulatorMessage, SimulatorProgress, SimulatorSpec } from './simulator.ts'

const PROBE_HOSTS = 10
const QUERY_EVERY_MS = 2000

async function reachable(brokers: string[]): Promise<void> {
  const admin = createKafka(brokers, 'loadtest-check', createLogger('loadtest', { level: 'silent' })).admin()
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => {
      reject(new Error('no answer within 10 s'))
    }, 10_000),
  )
  try {
    await Promise.race([admin.connect().then(() => admin.describeCluster()), timeout])
  } catch (err) {
    throw new ConfigError([
      `cannot reach Kafka at ${brokers.join(',')}: ${err instanceof Error ? err.message : String(err)}`,
    ])
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}

export async function runLoadtest(o: RunOptions, log: (line: string) => void): Promise<Report> {
  mkdirSync(o.out, { recursive: true })
  const work = mkdtempSync(join(tmpdir(), 'procstream-loadtest-'))
  const stops: (() => Promise<void>)[] = []
  try {
    let brokers = o.brokers
    let kafka: LocalKafka | undefined
    if (brokers) await reachable(brokers)
    else {
      const [port, controllerPort] = await findFreePortPair()
      kafka = await startKafka({
        dataDir: join(work, 'kafka'),
        port,
        controllerPort,
        partitions: o.partitions,
      })
      stops.push(() => (kafka as LocalKafka).stop())
      brokers = kafka.brokers
      log(`kafka: started at ${brokers.join(',')}`)
    }
    const topic = `loadtest-${String(Date.now())}`
    await ensureTopics(brokers, [{ name: topic, partitions: o.partitions, retentionMs: 6 * 3_600_000 }])

    const [metricsPort, apiPort] = await findFreePorts(2)
    const pipelineSpec: PipelineSpec = {
      brokers,
      topic,
      tenant: o.tenant,
      dataDir: join(work, 'pipeline'),
      metricsPort: metricsPort as number,
      apiPort: apiPort as number,
      env: {},
    }
    const pipeline = startChild<PipelineMessage>('./pipeline.ts', {
      LOADTEST_PIPELINE: JSON.stringify(pipelineSpec),
    })
    stops.push(() => pipeline.stop())
    const ready = await pipeline.next(
      (m): m is Extract<PipelineMessage, { type: 'ready' }> => m.type === 'ready',
      180_000,
    )
    log(`pipeline: processor and query API up at ${ready.apiUrl}`)

    const simSpec: SimulatorSpec = {
      brokers,
      topic,
      tenant: o.tenant,
      hosts: o.hosts,
      intervalMs: o.intervalMs,
      durationS: o.durationS,
      spike: o.spike,
      producers: 4,
    }
    const simulator = startChild<SimulatorMessage>('./simulator.ts', {
      LOADTEST_SIMULATOR: JSON.stringify(simSpec),
    })
    stops.push(() => simulator.stop())
    const simReady = await simulator.next(
      (m): m is Extract<SimulatorMessage, { type: 'ready' }> => m.type === 'ready',
      60_000,
    )
    const offeredPerS = (atS: number): number => {
      const spiking = o.spike && atS >= o.spike.atS && atS < o.spike.atS + o.spike.forS
      return (
        ((o.hosts * 1000) / (o.intervalMs / (spiking ? (o.spike?.factor ?? 1) : 1))) *
        simReady.valuesPerHostTick
      )
    }
    let latest: SimulatorProgress = {
      type: 'progress',
      atMs: Date.now(),
      envelopes: 0,
      values: 0,
      offeredValues: 0,
      sendErrors: 0,
    }
    simulator.on((m) => {
      if (m.type === 'progress') latest = m
    })
    const done = simulator.next(
      (m): m is Extract<SimulatorMessage, { type: 'done' }> => m.type === 'done',
      (o.durationS + 600) * 1000,
    )

    const watch = new ProcessWatch({
      simulator: simulator.pid,
      pipeline: pipeline.pid,
      ...(kafka && { kafka: kafka.pid }),
    })
    const probeHosts = Array.from(
      { length: Math.min(PROBE_HOSTS, o.hosts) },
      (_, i) => `sim-${String(i).padStart(6, '0')}`,
    )
    const probe = new FreshnessProbe(ready.apiUrl, ready.key, probeHosts)
    const queryMs: number[] = []
    const timeline: TimelinePoint[] = []
    const progress = new Progress(o.durationS)
    const start = Date.now()
    const state = { finished: false }
    let prevRows = (await processorMetrics(ready.metricsUrl)).rows
    const rowsAtStart = prevRows
    let prevValues = 0
    let maxLag = 0

    // Probes run beside the sampling loop: a slow query must not stretch the one-second timeline.
    const probing = (async () => {
      while (!state.finished) {
        await probe.poll().catch(() => undefined)
        await new Promise((r) => setTimeout(r, 250))
      }
    })()
    const querying = (async () => {
      while (!state.finished) {
        const end = Math.floor(Date.now() / 15_000) * 15
        const form = new URLSearchParams({
          // One host's CPU panel, as a user watching a host sees it; a fleet-wide query every 2 s
          // would measure the query more than the ingest it shares the process with.
          query: 'sum by (mode) (rate(node_cpu_seconds_total{host="sim-000000"}[1m]))',
          start: String(end - 300),
          end: String(end),
          step: '15',
        })
        const t0 = performance.now()
        const res = await fetch(`${ready.apiUrl}/api/v1/query_range`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${ready.key}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: form.toString(),
        }).catch(() => undefined)
        if (res?.ok) {
          await res.arrayBuffer()
          queryMs.push(performance.now() - t0)
        }
        await new Promise((r) => setTimeout(r, QUERY_EVERY_MS))
      }
    })()

    let simDone: Extract<SimulatorMessage, { type: 'done' }> | undefined
    void done.then((d) => {
      simDone = d
    })
    let drainStart = 0
    let drainedAt = 0
    // Past the ceiling the backlog drains after the load stops; the audit waits for it, within reason.
    const drainLimitMs = Math.max(300_000, 3 * o.durationS * 1000)
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000))
      const m = await processorMetrics(ready.metricsUrl).catch(() => undefined)
      if (!m) continue
      const atS = (Date.now() - start) / 1000
      const freshIdx = probe.samplesMs.length
      const usage = watch.sample()
      maxLag = Math.max(maxLag, m.lag)
      timeline.push({
        t: Date.now() / 1000,
        offeredValuesPerS: simDone ? 0 : offeredPerS(atS),
        producedValuesPerS: latest.values - prevValues,
        storedValuesPerS: m.rows - prevRows,
        lagMessages: m.lag,
        freshnessP99Ms: freshIdx > 0 ? percentiles(probe.samplesMs.slice(-200)).p99 : null,
        cpuPercent: Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, v.cpuPercent])),
        rssMb: Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, v.rssMb])),
      })
      prevRows = m.rows
      prevValues = latest.values
      progress.update({
        elapsedS: atS,
        producedValues: latest.values,
        storedValues: m.rows - rowsAtStart,
        lag: m.lag,
        freshnessP99Ms: percentiles(probe.samplesMs.slice(-500)).p99,
        draining: simDone !== undefined,
      })
      if (simDone) {
        if (drainStart === 0) drainStart = Date.now()
        if (m.envelopes >= simDone.envelopes && m.lag === 0 && m.tierLag === 0) {
          drainedAt = Date.now()
          break
        }
        if (Date.now() - drainStart > drainLimitMs) {
          log(`drain: gave up after ${String(drainLimitMs / 1000)} s with lag ${String(m.lag)}`)
          drainedAt = Date.now()
          break
        }
      }
    }
    state.finished = true
    await Promise.all([probing, querying])
    await probe.poll().catch(() => undefined)
    progress.finish()
    const sim = simDone

    // The audit, through the tenant's own SQL: what the user can see is what counts.
    const [[rows, distinct, points] = [0, 0, 0]] = await sql<
      [number | string, number | string, number | string]
    >(ready.apiUrl, ready.key, 'SELECT count(), uniqExact(host, agent_id, seq), sum(points) FROM samples')
    const [[raw] = [0]] = await sql<[number | string]>(ready.apiUrl, ready.key, 'SELECT count() FROM metrics')
    const rollupCounts: Record<string, number> = {}
    for (const tier of ['10s', '1m', '1h']) {
      const [[n] = [0]] = await sql<[number | string]>(
        ready.apiUrl,
        ready.key,
        `SELECT sum(count) FROM rollup_${tier}`,
      )
      rollupCounts[tier] = Number(n)
    }
    const stored = Number(distinct)
    const audit = {
      produced: sim.envelopes,
      stored,
      lost: Math.max(0, sim.envelopes - stored),
      duplicated: Number(rows) - stored,
      raw_values: Number(raw),
      expected_raw_values: Number(points),
      rollup_counts: rollupCounts,
      exact:
        sim.envelopes === stored &&
        Number(rows) === stored &&
        Number(raw) === Number(points) &&
        Object.values(rollupCounts).every((n) => n === Number(raw)),
    }
    const loadS = (drainedAt - start) / 1000
    const storedValues = prevRows - rowsAtStart
    const report: Report = {
      scenario: o.name,
      options: {
        hosts: o.hosts,
        interval_ms: o.intervalMs,
        duration_s: o.durationS,
        partitions: o.partitions,
        spike: o.spike ?? null,
      },
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'cpu' },
      audit,
      throughput: {
        values_per_s: storedValues / loadS,
        offered_values_per_s: offeredPerS(0),
        produced_values_per_s: sim.values / o.durationS,
        envelopes_per_s: stored / loadS,
        drain_s: (drainedAt - drainStart) / 1000,
      },
      freshness_ms: { ...percentiles(probe.samplesMs), samples: probe.samplesMs.length },
      query_latency_ms: { ...percentiles(queryMs), samples: queryMs.length },
      // The processor's counter over the same loop the CPU is sampled in: both cover the window.
      processes: processFigures(watch.cpuSeconds, watch.peakRss, loadS, storedValues),
      lag: { max_messages: maxLag },
      timeline,
    }
    if (o.baseline) {
      const base = JSON.parse(readFileSync(o.baseline, 'utf8')) as Report
      report.baseline = { file: o.baseline, regressions: compareWithBaseline(report, base) }
    }
    writeReport(o.out, report)
    return report
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    rmSync(work, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  let flags: Record<string, string | undefined>
  try {
    flags = parseArgs({
      options: Object.fromEntries(
        [
          'scenario',
          'out',
          'hosts',
          'interval-ms',
          'duration-s',
          'partitions',
          'brokers',
          'tenant',
          'baseline',
        ].map((n) => [n, { type: 'string' as const }]),
      ),
      strict: true,
    }).values
  } catch (err) {
    process.stderr.write(`loadtest: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(2)
  }
  let options: RunOptions
  try {
    options = resolveOptions(flags)
    if (options.baseline) JSON.parse(readFileSync(options.baseline, 'utf8'))
  } catch (err) {
    process.stderr.write(`loadtest: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(2)
  }
  const log = (line: string): void => {
    process.stderr.write(`loadtest: ${line}\n`)
  }
  let report: Report
  try {
    report = await runLoadtest(options, log)
  } catch (err) {
    process.stderr.write(`loadtest: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(err instanceof ConfigError ? 2 : 1)
  }
  process.stdout.write(markdown(report))
  log(`report: ${join(options.out, 'report.html')}`)
  if (!report.audit.exact) process.exit(1)
  if (report.baseline && report.baseline.regressions.length > 0) process.exit(3)
  process.exit(0)
}

if (process.argv[1]?.endsWith('loadtest/src/main.ts')) await main()
