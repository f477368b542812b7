import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SETPRIV = '/usr/bin/setpriv'
const live = new Set<ChildProcess>()

// A failed assertion must not leave a child running after the test worker exits.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** SIGKILL every child still running (for afterAll). */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...live].map((child) => new NodeChild(child).kill()))
}

/** One of the project's entry points run as its own Node process through tsx, output collected. */
export class NodeChild {
  readonly output: string[] = []

  constructor(readonly child: ChildProcess) {}

  static start(script: string, args: string[], env: NodeJS.ProcessEnv = {}): NodeChild {
    const node = [process.execPath, '--import', 'tsx', script, ...args]
    // setpriv execs the command (the pid stays the child's) and has the kernel kill it if this worker
    // dies outright, where no 'exit' hook runs.
    const [command, ...argv] = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...node] : node
    const child = spawn(command ?? process.execPath, argv, {
      cwd: REPO_ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    live.add(child)
    child.once('exit', () => live.delete(child))
    const started = new NodeChild(child)
    const collect = (chunk: Buffer): void => {
      started.output.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    return started
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Structured (pino) log lines of the child, parsed; other lines are skipped. */
  logLines(): Record<string, unknown>[] {
    return this.output.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>]
      } catch {
        return []
      }
    })
  }

  async signal(sig: NodeJS.Signals): Promise<number | null> {
    if (!this.running) return this.child.exitCode
    const exited = new Promise<number | null>((done) =>
      this.child.once('exit', (code) => {
        done(code)
      }),
    )
    this.child.kill(sig)
    return exited
  }

  kill(): Promise<number | null> {
    return this.signal('SIGKILL')
  }

  /** SIGTERM: the child flushes what it holds and exits. */
  stop(): Promise<number | null> {
    return this.signal('SIGTERM')
  }
}
