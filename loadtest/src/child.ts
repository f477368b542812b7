import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SETPRIV = '/usr/bin/setpriv'

/**
 * A loadtest process (simulator or pipeline) through tsx with an IPC channel. Under setpriv the
 * kernel kills it if the orchestrator dies, so an interrupted run leaves nothing behind.
 */
export interface LoadtestChild<M> {
  process: ChildProcess
  pid: number
  /** The first message satisfying `match`, or the child's failure. */
  next<T extends M>(match: (m: M) => m is T, timeoutMs: number): Promise<T>
  on(listener: (m: M) => void): void
  stderr: string[]
  stop(): Promise<void>
}

export function startChild<M extends { type: string }>(
  script: string,
  env: Record<string, string>,
): LoadtestChild<M> {
  // LOADTEST_CPU_PROF_DIR: a V8 CPU profile of each child, to see where a run's ceiling comes from.
  const profile = process.env.LOADTEST_CPU_PROF_DIR
  const node = [
    process.execPath,
    ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
    '--import',
    'tsx',
    fileURLToPath(new URL(script, import.meta.url)),
  ]
  const [command, ...argv] = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...node] : node
  const child = spawn(command ?? process.execPath, argv, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  const stderr: string[] = []
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    if (stderr.length > 200) stderr.splice(0, stderr.length - 200)
  })
  const listeners: ((m: M) => void)[] = []
  child.on('message', (m) => {
    for (const l of listeners) l(m as M)
  })
  return {
    process: child,
    pid: child.pid ?? 0,
    stderr,
    on: (l) => listeners.push(l),
    next: (match, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `${script}: no answer within ${String(timeoutMs)} ms; stderr: ${stderr.slice(-5).join(' | ')}`,
            ),
          )
        }, timeoutMs)
        listeners.push((m) => {
          if (m.type === 'error') {
            clearTimeout(timer)
            reject(new Error(`${script}: ${(m as unknown as { message: string }).message}`))
          } else if (match(m)) {
            clearTimeout(timer)
            resolve(m)
          }
        })
        child.once('exit', (code, signal) => {
          clearTimeout(timer)
          reject(
            new Error(
              `${script} exited (${String(code ?? signal)}); stderr: ${stderr.slice(-5).join(' | ')}`,
            ),
          )
        })
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve()
          return
        }
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000)
        child.once('exit', () => {
          clearTimeout(kill)
          resolve()
        })
        child.kill('SIGTERM')
      }),
  }
}
