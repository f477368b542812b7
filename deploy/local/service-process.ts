import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { ServiceError } from '#platform/errors.ts'

export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
}

/** Runs `command args` and returns its combined output; `null` when the command is not on PATH. */
export function probeCommand(command: string, args: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve(null)
        return
      }
      resolve(`${stdout}${stderr}`)
    })
  })
}

/** Whether `url` answers 2xx within 2 s: the readiness probe of a service with an HTTP health route. */
export async function httpOk(url: string | URL): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}

/** The last `count` non-empty lines of a file, or none if it cannot be read. */
export async function tailLines(file: string, count: number): Promise<string[]> {
  try {
    const text = await readFile(file, 'utf8')
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-count)
  } catch {
    return []
  }
}

const ERROR_LINE = /\b(ERROR|FATAL)\b|\[(FTL|ERR)\]/
const EXCEPTION_HEADER = /^\s*(Caused by: )?[\w$.]+(Exception|Error)(: .*)?$/

/**
 * From a log tail, the line most likely to say why a process died: the exception printed under the
 * last error line (a JVM logs "ERROR Exiting due to fatal exception" and the reason below it), else
 * that error line, else the last exception or line. Kept short so the thrown message stays on one line.
 */
export function likelyCause(lines: readonly string[]): string {
  const errorAt = lines.findLastIndex((l) => ERROR_LINE.test(l))
  const exception =
    errorAt >= 0
      ? lines.slice(errorAt + 1).find((l) => EXCEPTION_HEADER.test(l))
      : lines.findLast((l) => EXCEPTION_HEADER.test(l))
  const line = (exception ?? lines[errorAt] ?? lines.at(-1) ?? '(log is empty)').trim()
  return line.length > 300 ? `${line.slice(0, 300)}…` : line
}

let setprivAvailable: Promise<boolean> | undefined

/**
 * util-linux `setpriv --pdeathsig` makes the kernel kill the child when this process dies, even by
 * SIGKILL or OOM, where no 'exit' hook runs. It execs the command, so the pid stays the service's.
 */
function hasSetpriv(): Promise<boolean> {
  setprivAvailable ??= probeCommand('setpriv', ['--version']).then(
    (out) => out !== null && out.includes('setpriv'),
  )
  return setprivAvailable
}

/**
 * A long-running child whose stdout/stderr are appended to a log file. It never outlives this
 * process: a synchronous 'exit' hook SIGKILLs it if the owner forgot (or had no chance) to stop it,
 * and where setpriv exists the kernel does the same if this process is killed outright.
 */
export class ManagedProcess {
  readonly pid: number
  readonly exited: Promise<ExitInfo>
  private exitInfo: ExitInfo | undefined

  private constructor(
    private readonly child: ChildProcess,
    pid: number,
  ) {
    this.pid = pid
    const killOnExit = (): void => {
      child.kill('SIGKILL')
    }
    process.on('exit', killOnExit)
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        process.off('exit', killOnExit)
        this.exitInfo = { code, signal }
        resolve(this.exitInfo)
      })
    })
  }

  static async start(opts: {
    command: string
    args: readonly string[]
    logFile: string
    env?: NodeJS.ProcessEnv
    errorCode: string
    what: string
  }): Promise<ManagedProcess> {
    const [command, args] = (await hasSetpriv())
      ? ['setpriv', ['--pdeathsig', 'KILL', '--', opts.command, ...opts.args]]
      : [opts.command, opts.args]
    const fd = openSync(opts.logFile, 'a')
    let child: ChildProcess
    try {
      child = spawn(command, args, { stdio: ['ignore', fd, fd], env: opts.env ?? process.env })
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(fd)
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', (err) => {
        reject(
          new ServiceError(opts.errorCode, `${opts.what} could not be started: ${err.message}`, {
            cause: err,
          }),
        )
      })
    })
    if (child.pid === undefined) throw new ServiceError(opts.errorCode, `${opts.what} started without a pid`)
    return new ManagedProcess(child, child.pid)
  }

  get running(): boolean {
    return this.exitInfo === undefined
  }

  /** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
  async stop(graceMs = 15_000): Promise<ExitInfo> {
    if (this.exitInfo !== undefined) return this.exitInfo
    this.child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout')
      }, graceMs)
    })
    const first = await Promise.race([this.exited, timedOut])
    clearTimeout(timer)
    if (first !== 'timeout') return first
    this.child.kill('SIGKILL')
    return this.exited
  }
}

/** Resolves when `probe` returns true; rejects on deadline or as soon as the process exits. */
export async function waitUntilReady(opts: {
  process: ManagedProcess
  probe: () => Promise<boolean>
  timeoutMs: number
  intervalMs: number
  onExit: (exit: ExitInfo) => Promise<Error>
  onTimeout: () => Promise<Error>
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs
  let exitInfo: ExitInfo | undefined
  void opts.process.exited.then((e) => {
    exitInfo = e
  })
  // Read through a call: the exit lands between awaits, which flow analysis cannot see.
  const exited = (): ExitInfo | undefined => exitInfo
  for (;;) {
    const before = exited()
    if (before !== undefined) throw await opts.onExit(before)
    if (await opts.probe()) return
    const after = exited()
    if (after !== undefined) throw await opts.onExit(after)
    if (Date.now() >= deadline) throw await opts.onTimeout()
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs))
  }
}

/** The part of a start-up failure message that points at the log: its likely cause, and where it is. */
export async function logExcerpt(logFile: string): Promise<string> {
  return `${likelyCause(await tailLines(logFile, 200))}; see ${logFile}`
}

/**
 * Start a service and wait until `probe` says it answers. Early exit and the deadline each become
 * one ServiceError naming the likely cause from the log; a service that did not come up is stopped.
 */
export async function startUntilReady(opts: {
  start: Parameters<typeof ManagedProcess.start>[0]
  probe: () => Promise<boolean>
  timeoutMs: number
  intervalMs: number
  exitedCode: string
  notReadyCode: string
  /** Completes "<what> …" for the deadline message, e.g. "not ready after 60 s on 127.0.0.1:9092". */
  notReady: string
}): Promise<ManagedProcess> {
  const { what, logFile } = opts.start
  const proc = await ManagedProcess.start(opts.start)
  try {
    await waitUntilReady({
      process: proc,
      probe: opts.probe,
      timeoutMs: opts.timeoutMs,
      intervalMs: opts.intervalMs,
      onExit: async (exit: ExitInfo) =>
        new ServiceError(
          opts.exitedCode,
          `${what} exited during start-up (${describeExit(exit)}): ${await logExcerpt(logFile)}`,
        ),
      onTimeout: async () =>
        new ServiceError(opts.notReadyCode, `${what} ${opts.notReady}: ${await logExcerpt(logFile)}`, {
          retryable: true,
        }),
    })
  } catch (err) {
    await proc.stop(5_000)
    throw err
  }
  return proc
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? 'unknown'}`
}
