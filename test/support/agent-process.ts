import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { errorMessage } from '../../platform/errors.ts'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** Runs the real agent as its own process, as a user would, and collects its log lines. */
export class AgentProcess {
  readonly output: string[] = []
  private readonly child: ChildProcess

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'agent/src/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const collect = (chunk: Buffer): void => {
      this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    }
    this.child.stdout?.on('data', collect)
    this.child.stderr?.on('data', collect)
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** SIGTERM: the agent flushes what it queued, then exits. */
  async stop(): Promise<number | null> {
    if (!this.running) return this.child.exitCode
    const exited = new Promise<number | null>((done) => this.child.once('exit', (code) => { done(code); }))
    this.child.kill('SIGTERM')
    return exited
  }
}

/** Run the agent to completion (e.g. --once) and return its stdout. */
export function runAgent(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'agent/src/main.ts', ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')))
    child.once('error', reject)
    child.once('exit', (code) => { resolve({ code, stdout, stderr }); })
  })
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < until) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${errorMessage(last)}`}`)
}
