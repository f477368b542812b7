import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { ServiceError } from '#platform/errors.ts'
import { findFreePorts } from '../../deploy/local/ports.ts'
import {
  describeExit,
  ManagedProcess,
  probeCommand,
  tailLines,
  waitUntilReady,
} from '../../deploy/local/service-process.ts'

/** One series: a metric name, its labels (without `__name__`) and its samples in increasing time order. */
export interface PromSample {
  name: string
  labels: Record<string, string>
  points: { tsMs: number; value: number }[]
}

export interface LocalPrometheus {
  /** http://127.0.0.1:PORT */
  url: string
  /** Holds the OpenMetrics input, the config, the log and the TSDB (under `data/`). */
  dir: string
  logFile: string
  /** SIGTERM (SIGKILL after 10 s), then the folder is removed unless the caller chose it. */
  stop(): Promise<void>
}

const HOST = '127.0.0.1'
const READY_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 10_000
const LOG_TAIL_LINES = 15
const PORT_ATTEMPTS = 3
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function seriesId(s: PromSample): string {
  // Prometheus drops empty-valued labels, so series that differ only by one are the same series.
  const labels = Object.entries(s.labels)
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => a.localeCompare(b))
  return `${s.name}${JSON.stringify(labels)}`
}

/**
 * Rejects what promtool would otherwise accept and silently change: it drops a sample whose time is
 * not after the previous one of its series (exit code 0, no message), so a test would compare against
 * data that is not what it wrote.
 */
function validate(series: readonly PromSample[]): void {
  const seen = new Set<string>()
  for (const s of series) {
    const where = `series ${s.name}${JSON.stringify(s.labels)}`
    if (!METRIC_NAME.test(s.name)) throw new Error(`${where}: invalid metric name`)
    for (const name of Object.keys(s.labels)) {
      if (!LABEL_NAME.test(name) || name.startsWith('__')) {
        throw new Error(
          `${where}: invalid label name ${JSON.stringify(name)} (reserved or not [a-zA-Z_][a-zA-Z0-9_]*)`,
        )
      }
    }
    const id = seriesId(s)
    if (seen.has(id)) throw new Error(`${where} is given twice; promtool would drop the second one's samples`)
    seen.add(id)
    let prev = -1
    for (const p of s.points) {
      if (!Number.isSafeInteger(p.tsMs) || p.tsMs < 0) {
        throw new Error(`${where}: timestamp ${p.tsMs} is not a non-negative integer of milliseconds`)
      }
      if (p.tsMs <= prev) {
        throw new Error(
          `${where}: timestamp ${p.tsMs} does not follow ${prev}; promtool would silently drop it`,
        )
      }
      prev = p.tsMs
    }
  }
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  if (Object.is(v, -0)) return '-0'
  // The shortest round-tripping form, which Go's ParseFloat reads back to the same float64.
  return String(v)
}

/**
 * Seconds with a fractional part, as OpenMetrics wants. promtool truncates `float(seconds) * 1000` to
 * an integer, so where the decimal's nearest float lands just below the millisecond, half a
 * millisecond more keeps it on the intended one.
 */
function formatTimestamp(tsMs: number): string {
  const exact = `${Math.floor(tsMs / 1000)}.${String(tsMs % 1000).padStart(3, '0')}`
  return Math.trunc(Number(exact) * 1000) === tsMs ? exact : `${exact}5`
}

function escapeLabelValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))
}

/**
 * The series as an OpenMetrics file for promtool. No `# TYPE` lines: every family stays "unknown",
 * so no suffix rules (`_total` for counters, `_bucket` for histograms) apply and each stored name is
 * exactly the given one. Lines are grouped per series; promtool re-reads the file for each 2 h block
 * and needs no global time order.
 */
export function openMetricsText(series: readonly PromSample[]): string {
  const lines: string[] = []
  for (const s of series) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
      .join(',')
    const head = `${s.name}{${labels}}`
    for (const p of s.points) lines.push(`${head} ${formatValue(p.value)} ${formatTimestamp(p.tsMs)}`)
  }
  lines.push('# EOF')
  return `${lines.join('\n')}\n`
}

function runPromtool(input: string, tsdbDir: string): Promise<void> {
  const args = ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, tsdbDir]
  return new Promise((done, fail) => {
    execFile('promtool', args, { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err === null) {
        done()
        return
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        fail(
          new ServiceError(
            'PROMTOOL_NOT_INSTALLED',
            "promtool not found on PATH: install Debian's prometheus package (`npm run setup` does)",
          ),
        )
        return
      }
      const output = `${stderr}${stdout}`.trim().split('\n').slice(-LOG_TAIL_LINES).join('\n')
      fail(
        new ServiceError('PROMTOOL_FAILED', `promtool ${args.join(' ')} failed: ${err.message}\n${output}`, {
          cause: err,
        }),
      )
    })
  })
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}

async function logTail(logFile: string): Promise<string> {
  const lines = await tailLines(logFile, 200)
  const tail = lines.slice(-LOG_TAIL_LINES)
  // Prometheus logs its shutdown after the fatal error, which can push the error out of the tail.
  const errors = lines.filter((l) => l.includes('level=error') && !tail.includes(l))
  const shown = [...errors, ...(errors.length > 0 ? ['…'] : []), ...tail]
  return `last lines of ${logFile}:\n${shown.length > 0 ? shown.join('\n') : '(log is empty)'}`
}

/**
 * Runs prometheus over `tsdbDir` on a free port. The port is only known free when picked, so a bind
 * failure (someone took it meanwhile) is retried on another one.
 */
async function startServer(
  dir: string,
  tsdbDir: string,
): Promise<{ proc: ManagedProcess; url: string; logFile: string }> {
  const configFile = join(dir, 'prometheus.yml')
  const logFile = join(dir, 'prometheus.log')
  // No scrape_configs: the stored samples are all there is, nothing new lands in the head.
  await writeFile(configFile, 'global: {}\n')
  for (let attempt = 1; ; attempt++) {
    const [port] = await findFreePorts(1)
    if (port === undefined) throw new Error('findFreePorts(1) returned no port')
    const url = `http://${HOST}:${port}`
    await writeFile(logFile, '')
    const proc = await ManagedProcess.start({
      command: 'prometheus',
      args: [
        `--config.file=${configFile}`,
        `--web.listen-address=${HOST}:${port}`,
        `--storage.tsdb.path=${tsdbDir}`,
        // Retention counts back from the newest block, so fixtures spanning more than the default 15 d
        // would lose their oldest blocks.
        '--storage.tsdb.retention.time=3650d',
      ],
      logFile,
      errorCode: 'PROMETHEUS_START_FAILED',
      what: 'prometheus',
    })
    try {
      await waitUntilReady({
        process: proc,
        probe: () => ready(url),
        timeoutMs: READY_TIMEOUT_MS,
        intervalMs: 100,
        onExit: async (exit) =>
          new ServiceError(
            'PROMETHEUS_EXITED',
            `prometheus exited during start-up on ${url} (${describeExit(exit)}); ${await logTail(logFile)}`,
          ),
        onTimeout: async () =>
          new ServiceError(
            'PROMETHEUS_NOT_READY',
            `prometheus not ready after ${READY_TIMEOUT_MS / 1000} s on ${url}/-/ready; ${await logTail(logFile)}`,
            { retryable: true },
          ),
      })
      return { proc, url, logFile }
    } catch (err) {
      await proc.stop(5_000)
      const portTaken =
        err instanceof ServiceError &&
        err.code === 'PROMETHEUS_EXITED' &&
        err.message.includes('address already in use')
      if (!portTaken || attempt >= PORT_ATTEMPTS) throw err
    }
  }
}

/**
 * Loads `series` into a fresh Prometheus TSDB with `promtool tsdb create-blocks-from openmetrics`
 * and serves it read-only from a real prometheus on a free port, ready when this resolves. `opts.dir`
 * (created if missing, kept on stop) replaces the temporary folder, e.g. to inspect the blocks.
 */
export async function startPrometheusWith(
  series: PromSample[],
  opts: { dir?: string } = {},
): Promise<LocalPrometheus> {
  validate(series)
  if ((await probeCommand('prometheus', ['--version'])) === null) {
    throw new ServiceError(
      'PROMETHEUS_NOT_INSTALLED',
      "prometheus not found on PATH: install Debian's prometheus package (`npm run setup` does)",
    )
  }
  const keep = opts.dir !== undefined
  const dir = opts.dir === undefined ? await mkdtemp(join(tmpdir(), 'procstream-prom-')) : resolve(opts.dir)
  try {
    const tsdbDir = join(dir, 'data')
    await mkdir(tsdbDir, { recursive: true })
    const input = join(dir, 'series.om')
    await writeFile(input, openMetricsText(series))
    await runPromtool(input, tsdbDir)
    const { proc, url, logFile } = await startServer(dir, tsdbDir)
    let stopping: Promise<void> | undefined
    return {
      url,
      dir,
      logFile,
      stop: () =>
        (stopping ??= (async () => {
          await proc.stop(STOP_GRACE_MS)
          if (!keep) await rm(dir, { recursive: true, force: true })
        })()),
    }
  } catch (err) {
    if (!keep) await rm(dir, { recursive: true, force: true })
    throw err
  }
}

interface ApiBody {
  status?: string
  errorType?: string
  error?: string
  data?: { result?: unknown } | unknown[]
}

/**
 * GET an HTTP API endpoint of that Prometheus (`/api/v1/query`, `/api/v1/query_range`, or just
 * `query`) and return `data.result`; endpoints without one (series, labels) return `data`. A failed
 * query throws with Prometheus's own error text, so a test shows why PromQL was rejected.
 */
export async function promQuery(url: string, path: string, params: Record<string, string>): Promise<unknown> {
  const endpoint = path.startsWith('/') ? path : `/api/v1/${path}`
  const res = await fetch(`${url}${endpoint}?${new URLSearchParams(params).toString()}`, {
    signal: AbortSignal.timeout(30_000),
  })
  const text = await res.text()
  let body: ApiBody
  try {
    body = JSON.parse(text) as ApiBody
  } catch {
    throw new Error(`prometheus ${endpoint} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 300)}`)
  }
  if (!res.ok || body.status !== 'success') {
    throw new Error(
      `prometheus ${endpoint} ${JSON.stringify(params)} failed (HTTP ${res.status}, ${body.errorType ?? 'no errorType'}): ${body.error ?? text.slice(0, 300)}`,
    )
  }
  const data = body.data
  return data !== undefined && !Array.isArray(data) && 'result' in data ? data.result : data
}
