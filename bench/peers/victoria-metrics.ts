/**
 * VictoriaMetrics single-node as a benchmark peer, never a product dependency: built from the Go
 * module proxy with `go install` into the git-ignored `.cache/peers/`, reused once built, started
 * on a free loopback port for one run. Only `npm run bench` (bench/vs-victoria-metrics.ts) needs it,
 * so neither `npm test` nor CI setup builds it.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO_ROOT } from '../../deploy/local/kafka-jars.ts'
import { findFreePorts } from '../../deploy/local/ports.ts'
import { httpOk, startUntilReady } from '../../deploy/local/service-process.ts'
import { ServiceError, errorMessage } from '#platform/errors.ts'

/** The release the peer numbers in bench/README.md were taken with; bump both together. */
export const VICTORIA_METRICS_VERSION = 'v1.151.0'
const PACKAGE = 'github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics'
const BINARY = 'victoria-metrics'
const MARKER = '.complete'
/** The Go this machine's image ships; PATH is tried first. */
const IMAGE_GO = '/usr/local/go/bin/go'

export interface PeerBuildOptions {
  /** Where `victoria-metrics/<version>/` goes; default `<repo>/.cache/peers`. */
  cacheDir?: string
  /** The go command; default `$GO`, else `go` on PATH, else the image's /usr/local/go/bin/go. */
  go?: string
  log?: (line: string) => void
}

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const chunks: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => chunks.push(c))
    child.stderr.on('data', (c: Buffer) => chunks.push(c))
    child.once('error', reject)
    child.once('close', (code) => {
      resolve({ code, output: Buffer.concat(chunks).toString('utf8') })
    })
  })
}

async function findGo(explicit: string | undefined): Promise<string> {
  const candidates = explicit !== undefined ? [explicit] : [process.env.GO ?? 'go', IMAGE_GO]
  for (const go of candidates) {
    try {
      if ((await run(go, ['version'], process.env)).code === 0) return go
    } catch {
      // Not on PATH or not there: the next candidate, then the error below.
    }
  }
  throw new ServiceError(
    'PEER_GO_MISSING',
    `no Go toolchain found (tried ${candidates.join(', ')}): VictoriaMetrics ${VICTORIA_METRICS_VERSION} is built from source for the peer benchmark; install Go 1.24+ or set GO=/path/to/go`,
  )
}

/**
 * The path of a VictoriaMetrics binary of VICTORIA_METRICS_VERSION, built on first use. The build
 * writes into a staging folder renamed into place after the marker, so an interrupted build is never
 * taken for a complete one. A build that fails throws with the reason and the log's path: the peer
 * bench never runs without its peer.
 */
export async function ensureVictoriaMetrics(opts: PeerBuildOptions = {}): Promise<string> {
  const log = opts.log ?? (() => undefined)
  const versionDir = join(
    opts.cacheDir ?? join(REPO_ROOT, '.cache', 'peers'),
    'victoria-metrics',
    VICTORIA_METRICS_VERSION,
  )
  const binary = join(versionDir, BINARY)
  const complete = async (): Promise<boolean> =>
    existsSync(binary) &&
    existsSync(join(versionDir, MARKER)) &&
    (await readFile(join(versionDir, MARKER), 'utf8')).trim() === VICTORIA_METRICS_VERSION
  if (await complete()) return binary

  const go = await findGo(opts.go)
  await mkdir(versionDir, { recursive: true })
  const staging = join(versionDir, `staging-${String(process.pid)}-${String(Date.now())}`)
  const buildLog = join(versionDir, 'build.log')
  log(
    `building VictoriaMetrics ${VICTORIA_METRICS_VERSION} with ${go} install into ${versionDir} (first run only, minutes)`,
  )
  const started = Date.now()
  try {
    const { code, output } = await run(go, ['install', `${PACKAGE}@${VICTORIA_METRICS_VERSION}`], {
      ...process.env,
      GOBIN: staging,
      // The installed Go builds this release; never let go fetch a toolchain of its own.
      GOTOOLCHAIN: 'local',
    })
    await writeFile(buildLog, output)
    if (code !== 0) {
      const last = output.trim().split('\n').slice(-3).join(' | ')
      throw new ServiceError(
        'PEER_BUILD_FAILED',
        `go install ${PACKAGE}@${VICTORIA_METRICS_VERSION} failed (exit ${String(code)}; is the Go module proxy reachable?): ${last.slice(0, 400)}; full output in ${buildLog}`,
        { retryable: true },
      )
    }
    if (!existsSync(join(staging, BINARY)))
      throw new ServiceError(
        'PEER_BUILD_FAILED',
        `go install finished but ${join(staging, BINARY)} is missing`,
      )
    await rename(join(staging, BINARY), binary)
    await writeFile(join(versionDir, MARKER), `${VICTORIA_METRICS_VERSION}\n`)
  } catch (err) {
    if (err instanceof ServiceError) throw err
    throw new ServiceError('PEER_BUILD_FAILED', `could not build VictoriaMetrics: ${errorMessage(err)}`, {
      cause: err,
    })
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
  log(`VictoriaMetrics ${VICTORIA_METRICS_VERSION} built in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  return binary
}

export interface RunningVictoriaMetrics {
  url: string
  pid: number
  dataDir: string
  stop(): Promise<void>
}

/** A single-node VictoriaMetrics on a free loopback port, its data in `dataDir`, until stop(). */
export async function startVictoriaMetrics(opts: {
  binary: string
  dataDir: string
  logFile: string
}): Promise<RunningVictoriaMetrics> {
  const [port] = await findFreePorts(1)
  const url = `http://127.0.0.1:${String(port)}`
  const proc = await startUntilReady({
    start: {
      command: opts.binary,
      args: [
        `-storageDataPath=${opts.dataDir}`,
        `-httpListenAddr=127.0.0.1:${String(port)}`,
        // Defaults otherwise, as its documentation recommends running it: no tuning for the bench.
        '-loggerLevel=WARN',
      ],
      logFile: opts.logFile,
      errorCode: 'PEER_START_FAILED',
      what: 'victoria-metrics',
    },
    probe: () => httpOk(`${url}/health`),
    timeoutMs: 30_000,
    intervalMs: 100,
    exitedCode: 'PEER_EXITED',
    notReadyCode: 'PEER_NOT_READY',
    notReady: `not healthy after 30 s on ${url}`,
  })
  return {
    url,
    pid: proc.pid,
    dataDir: opts.dataDir,
    stop: async () => {
      await proc.stop()
    },
  }
}

/** Sums of each named metric over its label sets, from VictoriaMetrics' own /metrics. */
export async function victoriaMetricsCounters(
  url: string,
  names: readonly string[],
): Promise<Record<string, number>> {
  const res = await fetch(`${url}/metrics`)
  if (!res.ok) throw new ServiceError('PEER_METRICS_FAILED', `${url}/metrics answered ${String(res.status)}`)
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (m && (m[1] as string) in out) out[m[1] as string] = (out[m[1] as string] ?? 0) + Number(m[3])
  }
  return out
}

/**
 * Everything received written to disk and merged as far as it goes: the pending rows flushed into
 * parts, then a forced merge of every partition, waited for until none is active.
 */
export async function flushAndMerge(url: string, timeoutMs = 120_000): Promise<void> {
  for (const path of ['/internal/force_flush', '/internal/force_merge']) {
    const res = await fetch(`${url}${path}`)
    await res.body?.cancel()
    if (!res.ok) throw new ServiceError('PEER_MERGE_FAILED', `${url}${path} answered ${String(res.status)}`)
  }
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const c = await victoriaMetricsCounters(url, ['vm_active_force_merges', 'vm_pending_rows'])
    if (c.vm_active_force_merges === 0 && c.vm_pending_rows === 0) return
    if (Date.now() > deadline)
      throw new ServiceError(
        'PEER_MERGE_FAILED',
        `forced merge still running after ${String(timeoutMs / 1000)} s`,
      )
    await new Promise((r) => setTimeout(r, 250))
  }
}
