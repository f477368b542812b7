/**
 * `npm run report`: a host or fleet report from a running installation's query API, which makes it
 * (the embedded ClickHouse belongs to that process), saved here. Progress on stderr while the job
 * runs; the file is written under a temporary name in the target directory and renamed when whole,
 * so a failure at any point leaves no file behind.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { parseReportArgs, REPORT_USAGE, UsageError, type ReportInvocation } from './report-args.ts'
import { sleep } from '#platform/time.ts'

const POLL_MS = 250
/** The longest a report may take before the CLI gives up waiting for it. */
const WAIT_MS = 15 * 60_000
const REQUEST_TIMEOUT_MS = 30_000

class Failure extends Error {}

/** The temporary file being written, removed if the CLI is interrupted meanwhile. */
let partial: string | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (partial !== undefined) rmSync(partial, { force: true })
    process.exit(130)
  })

interface Status {
  state: 'running' | 'done' | 'failed'
  progress: { done: number; total: number; step: string }
  error?: string
}

function dashboardKey(): string | undefined {
  const file = resolve(
    process.env.PROCSTREAM_DATA_DIR ?? resolve(import.meta.dirname, '../.data'),
    'dashboard-key',
  )
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
}

async function call(
  inv: ReportInvocation,
  key: string,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  let res: Response
  try {
    res = await fetch(`${inv.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string> | undefined) },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
  } catch (err) {
    throw new Failure(`cannot reach ${inv.url}: ${(err as Error).message}`)
  }
  if (!res.ok) {
    const text = await res.text()
    let message = `${inv.url} answered ${String(res.status)}`
    try {
      const body = JSON.parse(text) as { error?: unknown; code?: unknown }
      message = `error ${String(res.status)} ${String(body.code)}: ${String(body.error)}`
    } catch {
      // Not our JSON (a proxy's page): the status says enough.
    }
    throw new Failure(message)
  }
  return res
}

/** A bar on a terminal, one line per step otherwise (a log, a test, a pipe). */
function progressPrinter(): { show: (s: Status) => void; end: () => void } {
  const tty = process.stderr.isTTY
  let lastLine = ''
  return {
    show(s) {
      const { done, total, step } = s.progress
      const share = total > 0 ? Math.min(1, done / total) : 0
      if (tty) {
        const width = 30
        const filled = Math.round(share * width)
        process.stderr.write(
          `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(share * 100)).padStart(3)} % ${step.padEnd(20).slice(0, 20)}`,
        )
      } else {
        const line = `progress ${String(done)}/${String(total)} ${step}`
        if (line !== lastLine) process.stderr.write(`${line}\n`)
        lastLine = line
      }
    },
    end() {
      if (tty) process.stderr.write('\n')
    },
  }
}

/** The server's name for the file, reduced to a plain base name: it names a file here. */
function serverFilename(res: Response, inv: ReportInvocation): string {
  const header = res.headers.get('content-disposition') ?? ''
  const name = /filename="([^"]+)"/.exec(header)?.[1]
  const safe = name === undefined ? '' : basename(name).replace(/[^A-Za-z0-9._-]/g, '_')
  return safe !== '' && !safe.startsWith('.') ? safe : `report.${inv.format}`
}

async function run(inv: ReportInvocation, key: string): Promise<string> {
  const started = await call(inv, key, '/api/v1/reports', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      kind: inv.kind,
      ...(inv.host !== undefined && { host: inv.host }),
      from: inv.fromMs,
      to: inv.toMs,
      format: inv.format,
    }),
  })
  const { id } = (await started.json()) as { id: string }
  const bar = progressPrinter()
  const deadline = Date.now() + WAIT_MS
  let status: Status
  try {
    for (;;) {
      status = (await (await call(inv, key, `/api/v1/reports/${encodeURIComponent(id)}`)).json()) as Status
      bar.show(status)
      if (status.state !== 'running') break
      if (Date.now() > deadline)
        throw new Failure(`the report took longer than ${String(WAIT_MS / 60_000)} min`)
      await sleep(POLL_MS)
    }
  } finally {
    bar.end()
  }
  if (status.state === 'failed') throw new Failure(`the report failed: ${status.error ?? 'unknown error'}`)
  const content = await call(inv, key, `/api/v1/reports/${encodeURIComponent(id)}/content`)
  const body = Buffer.from(await content.arrayBuffer())
  const target = resolve(inv.out ?? serverFilename(content, inv))
  const temp = join(dirname(target), `.${basename(target)}.${String(process.pid)}.partial`)
  partial = temp
  try {
    await writeFile(temp, body, { flag: 'wx' })
    await rename(temp, target)
  } catch (err) {
    await rm(temp, { force: true })
    throw new Failure(`cannot write ${target}: ${(err as Error).message}`)
  } finally {
    partial = undefined
  }
  return target
}

async function main(): Promise<number> {
  let inv: ReportInvocation
  try {
    inv = parseReportArgs(process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${REPORT_USAGE}`)
      return 2
    }
    throw err
  }
  if (inv.help) {
    process.stdout.write(REPORT_USAGE)
    return 0
  }
  const key = inv.key ?? dashboardKey()
  if (key === undefined) {
    process.stderr.write('no key: pass --key (npm start keeps its dashboard key in .data/dashboard-key)\n')
    return 2
  }
  try {
    const file = await run(inv, key)
    process.stdout.write(`${file}\n`)
    return 0
  } catch (err) {
    if (err instanceof Failure) {
      process.stderr.write(`${err.message}\n`)
      return 1
    }
    throw err
  }
}

process.exitCode = await main()
