/**
 * procstream's storage path beside VictoriaMetrics single-node, fed the same simulated fleet: the
 * loadtest's synthetic hosts (loadtest/src/synthetic-host.ts) grown from one /proc snapshot of this
 * machine, one sample per host per second, at stepped offered rates.
 *
 *   VictoriaMetrics: the values as Prometheus text to /api/v1/import/prometheus (or JSON lines to
 *   /api/v1/import with --format jsonl), host as the `host` label.
 *   procstream: the same records as Avro envelopes to a Kafka broker started here, stored by the
 *   product's processor into embedded ClickHouse (loadtest/src/pipeline.ts: processor and query API
 *   in one process, as `npm start` runs them).
 *
 * Each step runs a warm-up (its new hosts join over it: new series cost more than their steady
 * state), then a measured window: values stored per second as each system counts them
 * (vm_rows_added_to_storage_total; the processor's procstream_processor_rows_total), the backlog
 * (values fed − values stored) every second, and each process's CPU seconds from /proc over the
 * window. A step is sustained when the backlog neither grows nor holds more than MAX_BACKLOG_S of
 * values, nothing was refused or skipped, and the feed kept its schedule (judgeStep). Rates double
 * until a step is not sustained (which ends it early); after a drain one step between the last two
 * is tried (nextRate). At the end each side is audited (stored = fed, series = hosts × series per
 * host; for procstream through the tenant's own SQL, as the loadtest audits), flushed and merged, and
 * its bytes on disk per value taken. The peer failing stops the bench; procstream failing is reported
 * beside the peer's numbers.
 *
 * `npx tsx bench/vs-victoria-metrics.ts [--step-seconds 16] [--warmup-seconds 4] [--start-rate 50000]
 *  [--max-rate 1600000] [--format prometheus|jsonl] [--only victoria-metrics|procstream] [--json]`
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { serialize } from 'node:v8'
import { findFreePorts } from '../deploy/local/ports.ts'
import { startChild, type LoadtestChild } from '../loadtest/src/child.ts'
import { processorMetrics, sql } from '../loadtest/src/observe.ts'
import type { PipelineMessage, PipelineSpec } from '../loadtest/src/pipeline.ts'
import { withBenchBroker } from './bench-broker.ts'
import { hostSnapshot, valuesIn } from '../loadtest/src/host-snapshot.ts'
import type { FeedCommand, FeedMessage, FeedProgress, FeedTarget } from './peers/fleet-feed.ts'
import type { ImportFormat } from './peers/fleet-text.ts'
import type { TableFootprint } from './peers/chdb-footprint.ts'
import { processUsage } from '../loadtest/src/process-usage.ts'
import {
  ensureVictoriaMetrics,
  flushAndMerge,
  startVictoriaMetrics,
  VICTORIA_METRICS_VERSION,
  victoriaMetricsCounters,
} from './peers/victoria-metrics.ts'

export type PeerSystem = 'victoria-metrics' | 'procstream'

export interface PeerBenchOptions {
  /** Length of each step, warm-up included. */
  stepSeconds: number
  warmupSeconds: number
  startRate: number
  maxRate: number
  format: ImportFormat
  systems: readonly PeerSystem[]
  log: (line: string) => void
}

export const DEFAULT_PEER_OPTIONS: PeerBenchOptions = {
  stepSeconds: 16,
  warmupSeconds: 4,
  startRate: 50_000,
  maxRate: 1_600_000,
  format: 'prometheus',
  systems: ['victoria-metrics', 'procstream'],
  log: () => undefined,
}

export interface StepResult {
  hosts: number
  offeredPerS: number
  /** Length of the measured window. */
  seconds: number
  /** Values the feed built per second in the window: the offered rate, unless the feed fell behind. */
  fedPerS: number
  storedPerS: number
  /** Least-squares slope of the backlog over the window, values per second. */
  backlogSlopePerS: number
  backlogEnd: number
  sustained: boolean
  why: string
  /** CPU seconds per process over the measured window. */
  cpuSeconds: Record<string, number>
  /** CPU-µs per value stored in the window, per process. */
  cpuUsPerValue: Record<string, number>
  /** Largest resident memory per process during the step, warm-up included. */
  peakRssMb: Record<string, number>
  load1: number
}

export interface SystemResult {
  system: PeerSystem
  /** What stores the values: the process whose cost is compared. */
  store: string
  steps: StepResult[]
  sustained: StepResult | undefined
  peakRssMb: Record<string, number>
  fed: number
  stored: number
  audit: { exact: boolean; detail: string }
  diskBytes: number
  bytesPerValue: number
  diskDetail: string
  error?: string
}

export interface PeerBenchResult {
  machine: { cpus: number; model: string }
  valuesPerHostTick: number
  options: Omit<PeerBenchOptions, 'log'>
  systems: SystemResult[]
}

/**
 * Sustained when the backlog does not grow by more than 5 % of the offered rate (least squares over
 * the window's samples, so a store that inserts in batches is not judged on one saw tooth) nor holds
 * more than MAX_BACKLOG_S seconds of values, and the feed neither failed, skipped nor fell behind its
 * own schedule (a step the load generator could not offer says nothing about the system).
 */
/** A backlog of more seconds of values than this ends a step as not sustained, whatever its slope. */
export const MAX_BACKLOG_S = 10

export function judgeStep(s: {
  offeredPerS: number
  /** Values the feed built per second over the window. */
  fedPerS: number
  /** (seconds into the window, values fed − values stored) */
  backlog: readonly (readonly [number, number])[]
  errors: number
  skipped: number
  maxLateMs: number
}): { sustained: boolean; why: string; slopePerS: number } {
  const slopePerS = slope(s.backlog)
  if (s.errors > 0) return { sustained: false, why: `${String(s.errors)} failed sends`, slopePerS }
  if (s.maxLateMs > 1000)
    return {
      sustained: false,
      why: `the feed fell ${(s.maxLateMs / 1000).toFixed(1)} s behind its schedule (load generator bound)`,
      slopePerS,
    }
  if (s.fedPerS < 0.95 * s.offeredPerS)
    return {
      sustained: false,
      why: `the feed built only ${Math.round(s.fedPerS).toLocaleString('en')} values/s (load generator bound)`,
      slopePerS,
    }
  if (s.skipped > 0)
    return {
      sustained: false,
      why: `${s.skipped.toLocaleString('en')} values not sent (queue full)`,
      slopePerS,
    }
  const last = s.backlog.at(-1)?.[1] ?? 0
  if (last > MAX_BACKLOG_S * s.offeredPerS)
    return {
      sustained: false,
      why: `backlog of ${(last / s.offeredPerS).toFixed(0)} s of values`,
      slopePerS,
    }
  if (slopePerS > 0.05 * s.offeredPerS)
    return {
      sustained: false,
      why: `backlog grows ${Math.round(slopePerS).toLocaleString('en')} values/s`,
      slopePerS,
    }
  return { sustained: true, why: '', slopePerS }
}

/** Least-squares slope of (seconds, value) samples, per second. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((a, [x]) => a + x, 0) / n
  const my = points.reduce((a, [, y]) => a + y, 0) / n
  let num = 0
  let den = 0
  for (const [x, y] of points) {
    num += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den > 0 ? num / den : 0
}

/**
 * The rates to try: doubling from `start` while sustained; after the first step that is not, one
 * step at the geometric mean of it and the last sustained one (or, if none was, halving down to an
 * eighth of `start`). `next` answers with the following rate, or undefined when the search is done.
 */
export function nextRate(
  tried: readonly { rate: number; sustained: boolean }[],
  start: number,
  max: number,
): number | undefined {
  const last = tried.at(-1)
  if (!last) return start
  const good = tried.filter((t) => t.sustained).map((t) => t.rate)
  const bad = tried.filter((t) => !t.sustained).map((t) => t.rate)
  const best = good.length > 0 ? Math.max(...good) : undefined
  const worst = bad.length > 0 ? Math.min(...bad) : undefined
  if (worst === undefined) return last.rate * 2 <= max ? last.rate * 2 : undefined
  if (best === undefined) return last.rate / 2 >= start / 8 ? last.rate / 2 : undefined
  if (best > worst) return undefined
  const mid = Math.round(Math.sqrt(best * worst))
  // One refinement: stop once the bracket is within √2.
  return worst / best > 1.5 && !tried.some((t) => t.rate === mid) ? mid : undefined
}

/** Apparent size of every file under `dir`, as `du -sb` counts it. */
function diskUsage(dir: string): number {
  let bytes = 0
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    try {
      bytes += statSync(join(e.parentPath, e.name)).size
    } catch {
      // Removed between listing and stat (a merge finishing): not there, not counted.
    }
  }
  return bytes
}

const WARMUP_EXTRA_S = 10

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface Running {
  feed: LoadtestChild<FeedMessage>
  latest: FeedProgress
  valuesPerHostTick: number
  pids: Record<string, number>
  /** Hosts the feed was last told to run. */
  hosts: number
  /** The feed's largest lateness since the step's window began, from every progress message. */
  maxLateMs: number
  stored: () => Promise<number>
  peakRss: Record<string, number>
  stepPeakRss: Record<string, number>
}

function startFeed(target: FeedTarget, templateFile: string): LoadtestChild<FeedMessage> {
  return startChild<FeedMessage>('../../bench/peers/fleet-feed.ts', {
    FLEET_FEED: JSON.stringify({ target, templateFile }),
  })
}

async function feedReady(feed: LoadtestChild<FeedMessage>): Promise<{ latest: FeedProgress; vpht: number }> {
  const ready = await feed.next(
    (m): m is Extract<FeedMessage, { type: 'ready' }> => m.type === 'ready',
    120_000,
  )
  const latest: FeedProgress = {
    atMs: Date.now(),
    hosts: 0,
    generated: 0,
    acked: 0,
    envelopes: 0,
    ackedEnvelopes: 0,
    skipped: 0,
    errors: 0,
    lateMs: 0,
  }
  return { latest, vpht: ready.valuesPerHostTick }
}

function sampleRss(r: Running): void {
  for (const [name, pid] of Object.entries(r.pids)) {
    try {
      const mb = processUsage(pid).rssBytes / 2 ** 20
      r.peakRss[name] = Math.max(r.peakRss[name] ?? 0, mb)
      r.stepPeakRss[name] = Math.max(r.stepPeakRss[name] ?? 0, mb)
    } catch {
      // The process is gone; its peak so far stands.
    }
  }
}

function cpuNow(pids: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, processUsage(pid).cpuSeconds]))
}

function setHosts(r: Running, hosts: number): void {
  r.hosts = hosts
  r.feed.process.send({ type: 'hosts', hosts } satisfies FeedCommand)
}

/**
 * Values fed but not stored yet, and when (seconds on `t0`). The feed's count is taken on both sides
 * of the system's answer, which can take a while from a process busy storing.
 */
async function backlogAt(r: Running, t0: number): Promise<[number, number]> {
  const before = r.latest.generated
  const stored = await r.stored()
  return [(performance.now() - t0) / 1000, (before + r.latest.generated) / 2 - stored]
}

async function runStep(r: Running, rate: number, o: PeerBenchOptions): Promise<StepResult> {
  const hosts = Math.max(1, Math.round(rate / r.valuesPerHostTick))
  const offeredPerS = hosts * r.valuesPerHostTick
  // New hosts are new series, which cost both systems far more than their later values: they join
  // over the warm-up, as a fleet grows, not all in one second, and the window starts once the backlog
  // they caused is down to a second's values, or after WARMUP_EXTRA_S more.
  const from = r.hosts
  r.stepPeakRss = {}
  const warm0 = performance.now()
  for (let second = 1; ; second++) {
    setHosts(r, Math.round(from + ((hosts - from) * Math.min(second, o.warmupSeconds)) / o.warmupSeconds))
    await sleep(1000)
    sampleRss(r)
    const [at, backlog] = await backlogAt(r, warm0)
    if ((at >= o.warmupSeconds && backlog <= offeredPerS) || at >= o.warmupSeconds + WARMUP_EXTRA_S) break
  }
  const skipped0 = r.latest.skipped
  const errors0 = r.latest.errors
  const stored0 = await r.stored()
  const fed0 = r.latest.generated
  const cpu0 = cpuNow(r.pids)
  const t0 = performance.now()
  const backlog: [number, number][] = []
  r.maxLateMs = 0
  // Timed, not counted: a store whose /metrics answers slowly while it works must not stretch the window.
  const windowS = o.stepSeconds - o.warmupSeconds
  while ((performance.now() - t0) / 1000 < windowS - 0.5) {
    await sleep(Math.min(1000, windowS * 1000 - (performance.now() - t0)))
    sampleRss(r)
    const point = await backlogAt(r, t0)
    backlog.push(point)
    // Already not sustained: ending the step here keeps the run and the drain after it short.
    if (r.latest.skipped > skipped0 || point[1] > MAX_BACKLOG_S * offeredPerS) break
  }
  const stored1 = await r.stored()
  const fed1 = r.latest.generated
  const cpu1 = cpuNow(r.pids)
  const seconds = (performance.now() - t0) / 1000
  const storedInWindow = stored1 - stored0
  const judged = judgeStep({
    offeredPerS,
    fedPerS: (fed1 - fed0) / seconds,
    backlog,
    errors: r.latest.errors - errors0,
    skipped: r.latest.skipped - skipped0,
    maxLateMs: r.maxLateMs,
  })
  const cpuSeconds = Object.fromEntries(Object.keys(r.pids).map((n) => [n, (cpu1[n] ?? 0) - (cpu0[n] ?? 0)]))
  return {
    hosts,
    offeredPerS,
    seconds,
    fedPerS: (fed1 - fed0) / seconds,
    storedPerS: storedInWindow / seconds,
    backlogSlopePerS: judged.slopePerS,
    backlogEnd: backlog.at(-1)?.[1] ?? 0,
    sustained: judged.sustained,
    why: judged.why,
    cpuSeconds,
    cpuUsPerValue: Object.fromEntries(
      Object.entries(cpuSeconds).map(([n, s]) => [n, storedInWindow > 0 ? (s * 1e6) / storedInWindow : NaN]),
    ),
    peakRssMb: { ...r.stepPeakRss },
    load1: loadavg()[0] ?? 0,
  }
}

/** Feed nothing until everything fed is stored, at most `timeoutS`; whether it drained. */
async function drain(r: Running, timeoutS: number): Promise<boolean> {
  setHosts(r, 0)
  const deadline = Date.now() + timeoutS * 1000
  while (Date.now() < deadline) {
    await sleep(500)
    sampleRss(r)
    // Progress arrives every 200 ms; a backlog of zero on two readings apart is a drained one.
    if (r.latest.generated - (await r.stored()) <= 0) return true
  }
  return false
}

async function search(r: Running, o: PeerBenchOptions, label: string): Promise<StepResult[]> {
  const steps: StepResult[] = []
  const tried: { rate: number; sustained: boolean }[] = []
  for (;;) {
    const rate = nextRate(tried, o.startRate, o.maxRate)
    if (rate === undefined) break
    if (tried.some((t) => !t.sustained) && !(await drain(r, 90))) {
      o.log(`${label}: backlog did not drain within 90 s; search stopped`)
      break
    }
    const step = await runStep(r, rate, o)
    o.log(
      `${label}: ${Math.round(step.offeredPerS).toLocaleString('en')} values/s offered, ${Math.round(step.storedPerS).toLocaleString('en')} stored, ${step.sustained ? 'sustained' : `not sustained: ${step.why}`}`,
    )
    steps.push(step)
    tried.push({ rate, sustained: step.sustained })
  }
  return steps
}

function best(steps: readonly StepResult[]): StepResult | undefined {
  return steps.filter((s) => s.sustained).sort((a, b) => b.offeredPerS - a.offeredPerS)[0]
}

async function stopFeed(r: Running): Promise<Extract<FeedMessage, { type: 'done' }>> {
  const done = r.feed.next((m): m is Extract<FeedMessage, { type: 'done' }> => m.type === 'done', 120_000)
  r.feed.process.send({ type: 'stop' } satisfies FeedCommand)
  return done
}

async function benchVictoriaMetrics(
  o: PeerBenchOptions,
  dir: string,
  templateFile: string,
): Promise<SystemResult> {
  const binary = await ensureVictoriaMetrics({ log: o.log })
  const dataDir = join(dir, 'victoria-metrics')
  const vm = await startVictoriaMetrics({ binary, dataDir, logFile: join(dir, 'victoria-metrics.log') })
  let feed: LoadtestChild<FeedMessage> | undefined
  try {
    const diskBefore = diskUsage(dataDir)
    feed = startFeed({ kind: 'victoria-metrics', url: vm.url, format: o.format }, templateFile)
    const { latest, vpht } = await feedReady(feed)
    const stored = async (): Promise<number> =>
      (await victoriaMetricsCounters(vm.url, ['vm_rows_added_to_storage_total']))
        .vm_rows_added_to_storage_total ?? 0
    const r: Running = {
      feed,
      latest,
      valuesPerHostTick: vpht,
      hosts: 0,
      maxLateMs: 0,
      pids: { 'victoria-metrics': vm.pid, feed: feed.pid },
      stored,
      peakRss: {},
      stepPeakRss: {},
    }
    feed.on((m) => {
      if (m.type !== 'progress' && m.type !== 'done') return
      r.latest = m
      r.maxLateMs = Math.max(r.maxLateMs, m.lateMs)
    })
    const steps = await search(r, o, 'victoria-metrics')
    const done = await stopFeed(r)
    await drain(r, 60)
    o.log('victoria-metrics: flushing and merging for bytes on disk')
    await flushAndMerge(vm.url)
    const c = await victoriaMetricsCounters(vm.url, [
      'vm_rows_added_to_storage_total',
      'vm_new_timeseries_created_total',
      'vm_rows_invalid_total',
      'vm_rows_ignored_total',
    ])
    const maxHosts = Math.max(...steps.map((s) => s.hosts))
    const storedTotal = c.vm_rows_added_to_storage_total ?? 0
    const series = c.vm_new_timeseries_created_total ?? 0
    const exact =
      storedTotal === done.acked &&
      done.acked === done.generated &&
      done.errors === 0 &&
      series === maxHosts * vpht &&
      (c.vm_rows_invalid_total ?? 0) === 0 &&
      (c.vm_rows_ignored_total ?? 0) === 0
    // The indexdb's in-memory part reaches disk on its own flush, a few seconds after the data's.
    await sleep(6000)
    const diskBytes = diskUsage(dataDir) - diskBefore
    o.log('victoria-metrics: done')
    return {
      system: 'victoria-metrics',
      store: 'victoria-metrics',
      steps,
      sustained: best(steps),
      peakRssMb: r.peakRss,
      fed: done.generated,
      stored: storedTotal,
      audit: {
        exact,
        detail: `fed ${done.generated.toLocaleString('en')}, acknowledged ${done.acked.toLocaleString('en')}, stored ${storedTotal.toLocaleString('en')}; series ${series.toLocaleString('en')} of ${(maxHosts * vpht).toLocaleString('en')}; invalid ${String(c.vm_rows_invalid_total)}, ignored ${String(c.vm_rows_ignored_total)}`,
      },
      diskBytes,
      bytesPerValue: diskBytes / storedTotal,
      diskDetail: 'storage folder after force_flush and force_merge',
    }
  } finally {
    await feed?.stop()
    await vm.stop()
  }
}

function footprint(embeddedPath: string, database: string): Promise<TableFootprint[]> {
  const script = fileURLToPath(new URL('./peers/chdb-footprint.ts', import.meta.url))
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, embeddedPath, database],
      { maxBuffer: 16 * 2 ** 20, timeout: 600_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`chdb-footprint failed: ${stderr.trim() || err.message}`))
        else resolve(JSON.parse(stdout) as TableFootprint[])
      },
    )
  })
}

const PIPELINE_DATABASE = 'loadtest'

/**
 * The pipeline process, started again (up to three times) when its processor met a broker that had
 * not yet settled its group coordinator: a broker started seconds before on a busy machine answers
 * NOT_COORDINATOR for a while, which says nothing about the storage path.
 */
async function startPipeline(
  spec: PipelineSpec,
  log: (line: string) => void,
): Promise<{ pipeline: LoadtestChild<PipelineMessage>; ready: Extract<PipelineMessage, { type: 'ready' }> }> {
  for (let attempt = 1; ; attempt++) {
    const pipeline = startChild<PipelineMessage>('./pipeline.ts', { LOADTEST_PIPELINE: JSON.stringify(spec) })
    try {
      const ready = await pipeline.next(
        (m): m is Extract<PipelineMessage, { type: 'ready' }> => m.type === 'ready',
        180_000,
      )
      return { pipeline, ready }
    } catch (err) {
      await pipeline.stop()
      const why = err instanceof Error ? err.message : String(err)
      if (attempt >= 3 || !/coordinator/i.test(why)) throw err
      log(`procstream: pipeline start ${String(attempt)} met an unsettled broker (${why}); again in 5 s`)
      await sleep(5000)
    }
  }
}

async function benchProcstream(o: PeerBenchOptions, templateFile: string): Promise<SystemResult> {
  return withBenchBroker('vs-peer', 6, async ({ dir, brokers, pid: kafkaPid, topic }) => {
    const tenant = 'bench'
    const [metricsPort, apiPort] = await findFreePorts(2)
    const dataDir = join(dir, 'pipeline')
    const spec: PipelineSpec = {
      brokers,
      topic,
      tenant,
      dataDir,
      metricsPort: metricsPort as number,
      apiPort: apiPort as number,
      env: {},
    }
    let feed: LoadtestChild<FeedMessage> | undefined
    o.log(`procstream: broker up at ${brokers.join(',')}; starting the processor and query API`)
    const { pipeline, ready } = await startPipeline(spec, o.log)
    o.log('procstream: pipeline ready')
    try {
      feed = startFeed({ kind: 'kafka', brokers, topic, tenant }, templateFile)
      const { latest, vpht } = await feedReady(feed)
      const rowsAtStart = (await processorMetrics(ready.metricsUrl)).rows
      const stored = async (): Promise<number> =>
        (await processorMetrics(ready.metricsUrl)).rows - rowsAtStart
      const r: Running = {
        feed,
        latest,
        valuesPerHostTick: vpht,
        hosts: 0,
        maxLateMs: 0,
        pids: { procstream: pipeline.pid, kafka: kafkaPid, feed: feed.pid },
        stored,
        peakRss: {},
        stepPeakRss: {},
      }
      feed.on((m) => {
        if (m.type !== 'progress' && m.type !== 'done') return
        r.latest = m
        r.maxLateMs = Math.max(r.maxLateMs, m.lateMs)
      })
      const steps = await search(r, o, 'procstream')
      const done = await stopFeed(r)
      const drained = await drain(r, 180)
      o.log(`procstream: ${drained ? 'drained' : 'not drained after 180 s'}; auditing`)
      const storedTotal = await stored()
      // The audit, as the loadtest's: through the tenant's own SQL, what the user can see.
      const [[rows, distinct, points] = [0, 0, 0]] = await sql<
        [number | string, number | string, number | string]
      >(ready.apiUrl, ready.key, 'SELECT count(), uniqExact(host, agent_id, seq), sum(points) FROM samples')
      const [[raw, series] = [0, 0]] = await sql<[number | string, number | string]>(
        ready.apiUrl,
        ready.key,
        'SELECT count(), uniqExact(host, metric, labels) FROM metrics',
      )
      const maxHosts = Math.max(...steps.map((s) => s.hosts))
      const exact =
        drained &&
        done.errors === 0 &&
        done.acked === done.generated &&
        Number(distinct) === done.ackedEnvelopes &&
        Number(rows) === Number(distinct) &&
        Number(raw) === done.acked &&
        Number(points) === done.acked &&
        storedTotal === done.acked &&
        Number(series) === maxHosts * vpht
      await pipeline.stop()
      o.log('procstream: merging (OPTIMIZE FINAL) for bytes on disk')
      const tables = await footprint(join(dataDir, 'clickhouse'), PIPELINE_DATABASE)
      const diskBytes = tables.reduce((n, t) => n + t.bytes, 0)
      o.log('procstream: done')
      return {
        system: 'procstream',
        store: 'procstream',
        steps,
        sustained: best(steps),
        peakRssMb: r.peakRss,
        fed: done.generated,
        stored: Number(raw),
        audit: {
          exact,
          detail: `fed ${done.generated.toLocaleString('en')}, acknowledged by Kafka ${done.acked.toLocaleString('en')}, stored ${Number(raw).toLocaleString('en')} values (processor counter ${storedTotal.toLocaleString('en')}) in ${Number(distinct).toLocaleString('en')} of ${done.ackedEnvelopes.toLocaleString('en')} envelopes (${String(Number(rows) - Number(distinct))} duplicated); series ${Number(series).toLocaleString('en')} of ${(maxHosts * vpht).toLocaleString('en')}${drained ? '' : '; backlog not drained'}`,
        },
        diskBytes,
        bytesPerValue: diskBytes / Number(raw),
        diskDetail: `active parts after OPTIMIZE FINAL: ${tables
          .filter((t) => t.bytes > 0)
          .map((t) => `${t.table} ${(t.bytes / 2 ** 20).toFixed(1)} MB`)
          .join(', ')}`,
      }
    } finally {
      await feed?.stop()
      await pipeline.stop()
    }
  })
}

function failed(system: PeerSystem, err: unknown): SystemResult {
  return {
    system,
    store: system,
    steps: [],
    sustained: undefined,
    peakRssMb: {},
    fed: 0,
    stored: 0,
    audit: { exact: false, detail: 'not run' },
    diskBytes: 0,
    bytesPerValue: NaN,
    diskDetail: '',
    error: err instanceof Error ? err.message : String(err),
  }
}

export async function benchVsVictoriaMetrics(opts: Partial<PeerBenchOptions> = {}): Promise<PeerBenchResult> {
  const given: PeerBenchOptions = { ...DEFAULT_PEER_OPTIONS, ...opts }
  const began = performance.now()
  const o: PeerBenchOptions = {
    ...given,
    log: (line) => {
      given.log(`[${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}`)
    },
  }
  const dir = mkdtempSync(join(tmpdir(), 'procstream-bench-peer-'))
  try {
    // One snapshot of this machine's /proc for both systems: host i evolves from it alike in each.
    const template = hostSnapshot()
    const templateFile = join(dir, 'template.v8')
    writeFileSync(templateFile, serialize(template))
    mkdirSync(join(dir, 'vm'), { recursive: true })
    const valuesPerHostTick = template.reduce((n, s) => n + valuesIn(s), 0)
    const systems: SystemResult[] = []
    for (const system of o.systems) {
      o.log(`${system}: starting`)
      try {
        const r =
          system === 'victoria-metrics'
            ? await benchVictoriaMetrics(o, join(dir, 'vm'), templateFile)
            : await benchProcstream(o, templateFile)
        systems.push(r)
      } catch (err) {
        // The peer's failure is the bench's failure; procstream's is reported beside the peer's numbers.
        if (system === 'victoria-metrics') throw err
        o.log(`${system}: failed: ${err instanceof Error ? err.message : String(err)}`)
        systems.push(failed(system, err))
      }
    }
    const { log: _log, ...options } = given
    return {
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'cpu' },
      valuesPerHostTick,
      options,
      systems,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const n0 = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en') : '–')
const n1 = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? x.toFixed(1) : '–')
const n2 = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? x.toFixed(2) : '–')
const ratio = (a: number | undefined, b: number | undefined): string =>
  a !== undefined && b !== undefined && Number.isFinite(a / b) && b > 0 ? `${(a / b).toFixed(2)}×` : '–'

function stepsTable(s: SystemResult): string[] {
  const procs = Object.keys(s.steps[0]?.cpuSeconds ?? {})
  return [
    `| offered values/s | hosts | window s | fed values/s | stored values/s | backlog growth values/s | sustained | ${procs.map((p) => `CPU-µs/value ${p}`).join(' | ')} | load1 |`,
    `| ---: | ---: | ---: | ---: | ---: | ---: | :--- | ${procs.map(() => '---:').join(' | ')} | ---: |`,
    ...s.steps.map(
      (t) =>
        `| ${n0(t.offeredPerS)} | ${String(t.hosts)} | ${n1(t.seconds)} | ${n0(t.fedPerS)} | ${n0(t.storedPerS)} | ${n0(t.backlogSlopePerS)} | ${t.sustained ? 'yes' : `no: ${t.why}`} | ${procs.map((p) => n2(t.cpuUsPerValue[p])).join(' | ')} | ${n1(t.load1)} |`,
    ),
  ]
}

export function peerMarkdown(r: PeerBenchResult): string {
  const vm = r.systems.find((s) => s.system === 'victoria-metrics')
  const ps = r.systems.find((s) => s.system === 'procstream')
  const lines = [
    `procstream's storage path beside VictoriaMetrics ${VICTORIA_METRICS_VERSION} single-node (${r.options.format} import), the same simulated fleet (${String(r.valuesPerHostTick)} values per host each second), on ${String(r.machine.cpus)} × ${r.machine.model}; steps of ${String(r.options.stepSeconds)} s (${String(r.options.warmupSeconds)} s warm-up), the load generator (feed) on the same cores`,
  ]
  for (const s of r.systems) {
    lines.push('', `${s.system}${s.error ? `: **failed**: ${s.error}` : ''}`)
    if (s.steps.length > 0) lines.push('', ...stepsTable(s))
    if (!s.error)
      lines.push(
        '',
        `audit ${s.audit.exact ? 'exact' : '**not exact**'}: ${s.audit.detail}; disk: ${s.diskDetail}`,
      )
  }
  // Cost per value falls with the rate (fuller batches), so the ratio is also taken at one rate.
  const common = (vm?.steps ?? [])
    .filter((v) => v.sustained && ps?.steps.some((p) => p.sustained && p.hosts === v.hosts))
    .sort((a, b) => b.offeredPerS - a.offeredPerS)[0]
  const psCommon = common && ps?.steps.find((p) => p.sustained && p.hosts === common.hosts)
  const withBroker = (t: StepResult | undefined): number | undefined =>
    t === undefined ? undefined : (t.cpuUsPerValue.procstream ?? NaN) + (t.cpuUsPerValue.kafka ?? NaN)
  const rss = (t: StepResult | undefined, store: string): number | undefined => t?.peakRssMb[store]
  lines.push(
    '',
    '| | VictoriaMetrics | procstream | procstream / VictoriaMetrics |',
    '| --- | ---: | ---: | ---: |',
    `| sustained values/s (highest step with the backlog not growing) | ${n0(vm?.sustained?.offeredPerS ?? NaN)} | ${n0(ps?.sustained?.offeredPerS ?? NaN)} | ${ratio(ps?.sustained?.offeredPerS, vm?.sustained?.offeredPerS)} |`,
    `| CPU-µs per stored value at that rate, storing process | ${n2(vm?.sustained?.cpuUsPerValue['victoria-metrics'])} | ${n2(ps?.sustained?.cpuUsPerValue.procstream)} | ${ratio(ps?.sustained?.cpuUsPerValue.procstream, vm?.sustained?.cpuUsPerValue['victoria-metrics'])} |`,
    `| … with the Kafka broker | | ${n2(withBroker(ps?.sustained))} | ${ratio(withBroker(ps?.sustained), vm?.sustained?.cpuUsPerValue['victoria-metrics'])} |`,
    ...(common && psCommon
      ? [
          `| CPU-µs per stored value at ${n0(common.offeredPerS)} values/s (both sustained), storing process | ${n2(common.cpuUsPerValue['victoria-metrics'])} | ${n2(psCommon.cpuUsPerValue.procstream)} | ${ratio(psCommon.cpuUsPerValue.procstream, common.cpuUsPerValue['victoria-metrics'])} |`,
          `| … with the Kafka broker | | ${n2(withBroker(psCommon))} | ${ratio(withBroker(psCommon), common.cpuUsPerValue['victoria-metrics'])} |`,
        ]
      : []),
    `| peak RSS MB at that rate, storing process | ${n0(rss(vm?.sustained, 'victoria-metrics') ?? NaN)} | ${n0(rss(ps?.sustained, 'procstream') ?? NaN)} | ${ratio(rss(ps?.sustained, 'procstream'), rss(vm?.sustained, 'victoria-metrics'))} |`,
    ...(common && psCommon
      ? [
          `| peak RSS MB at ${n0(common.offeredPerS)} values/s, storing process | ${n0(rss(common, 'victoria-metrics') ?? NaN)} | ${n0(rss(psCommon, 'procstream') ?? NaN)} | ${ratio(rss(psCommon, 'procstream'), rss(common, 'victoria-metrics'))} |`,
        ]
      : []),
    `| disk bytes per stored value after flush and merge | ${n2(vm?.bytesPerValue)} | ${n2(ps?.bytesPerValue)} | ${ratio(ps?.bytesPerValue, vm?.bytesPerValue)} |`,
    `| audit: stored = fed, every series | ${vm ? (vm.audit.exact ? 'exact' : 'no') : '–'} | ${ps ? (ps.audit.exact ? 'exact' : 'no') : '–'} | |`,
  )
  return lines.join('\n')
}

function positive(name: string, v: string | undefined, fallback: number, min: number, max: number): number {
  const n = v === undefined ? fallback : Number(v)
  if (!Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(
      `--${name} must be a number from ${String(min)} to ${String(max)}, got ${String(v)}\n`,
    )
    process.exit(2)
  }
  return n
}

export function peerOptionsFromFlags(
  flags: Record<string, string | boolean | undefined>,
): Partial<PeerBenchOptions> {
  const str = (k: string): string | undefined => (typeof flags[k] === 'string' ? flags[k] : undefined)
  const d = DEFAULT_PEER_OPTIONS
  const stepSeconds = positive('step-seconds', str('step-seconds'), d.stepSeconds, 8, 3600)
  const warmupSeconds = positive('warmup-seconds', str('warmup-seconds'), d.warmupSeconds, 1, stepSeconds - 5)
  const format = str('format') ?? d.format
  if (format !== 'prometheus' && format !== 'jsonl') {
    process.stderr.write(`--format must be prometheus or jsonl, got ${format}\n`)
    process.exit(2)
  }
  const only = str('only')
  if (only !== undefined && only !== 'victoria-metrics' && only !== 'procstream') {
    process.stderr.write(`--only must be victoria-metrics or procstream, got ${only}\n`)
    process.exit(2)
  }
  return {
    stepSeconds,
    warmupSeconds,
    startRate: positive('start-rate', str('start-rate'), d.startRate, 1000, 10_000_000),
    maxRate: positive('max-rate', str('max-rate'), d.maxRate, 1000, 10_000_000),
    format,
    systems: only === undefined ? d.systems : [only],
  }
}

export const PEER_FLAGS = {
  'step-seconds': { type: 'string' },
  'warmup-seconds': { type: 'string' },
  'start-rate': { type: 'string' },
  'max-rate': { type: 'string' },
  format: { type: 'string' },
  only: { type: 'string' },
} as const

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { ...PEER_FLAGS, json: { type: 'boolean' } } })
  const result = await benchVsVictoriaMetrics({
    ...peerOptionsFromFlags(values),
    log: (line) => process.stderr.write(`${line}\n`),
  })
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${peerMarkdown(result)}\n`)
  process.exit(0)
}
