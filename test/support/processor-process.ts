import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The stand-alone stream processor as its own process, so a test can SIGKILL it mid-write. */
export class ProcessorProcess {
  readonly output: string[] = []
  private readonly child: ChildProcess

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'stream-processors/src/main.ts'], {
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

  private exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve()
    return new Promise((done) => this.child.once('exit', () => done()))
  }

  async kill(): Promise<void> {
    const exited = this.exited()
    this.child.kill('SIGKILL')
    await exited
  }

  async stop(): Promise<void> {
    const exited = this.exited()
    this.child.kill('SIGTERM')
    await exited
  }
}
