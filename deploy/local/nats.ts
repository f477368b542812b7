import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ServiceError } from '../../platform/errors.ts'
import { assertPortFree } from './ports.ts'
import { describeExit, probeCommand, startUntilReady } from './service-process.ts'

export interface LocalNats {
  url: string
  logFile: string
  pid: number
  stop(): Promise<void>
}

export interface StartNatsOptions {
  dataDir: string
  port?: number
  monitorPort?: number
  log?: (line: string) => void
  readyTimeoutMs?: number
}

const HOST = '127.0.0.1'

async function healthy(monitorPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${HOST}:${monitorPort}/healthz`, { signal: AbortSignal.timeout(2_000) })
    await res.body?.cancel()
    return res.ok
  } catch {
    return false
  }
}

/**
 * Starts Debian's `nats-server` with JetStream, bound to 127.0.0.1, its store and log under `dataDir`.
 * Ready once the monitoring `/healthz` answers 200, which in 2.9 also covers JetStream.
 */
export async function startNats(opts: StartNatsOptions): Promise<LocalNats> {
  const log = opts.log ?? (() => undefined)
  const port = opts.port ?? 4222
  const monitorPort = opts.monitorPort ?? 8222
  const dataDir = resolve(opts.dataDir)
  const logFile = join(dataDir, 'logs', 'nats.log')
  const url = `nats://${HOST}:${port}`

  if ((await probeCommand('nats-server', ['--version'])) === null) {
    throw new ServiceError(
      'NATS_NOT_INSTALLED',
      'nats-server not found on PATH: install it with `apt-get install -y nats-server`',
    )
  }
  await assertPortFree(port, 'NATS client', 'NATS_PORT_IN_USE')
  await assertPortFree(monitorPort, 'NATS monitoring', 'NATS_PORT_IN_USE')
  await mkdir(join(dataDir, 'logs'), { recursive: true })

  const started = Date.now()
  log(`starting NATS on ${url} (log: ${logFile})`)
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000
  const server = await startUntilReady({
    start: {
      command: 'nats-server',
      args: [
        '-a',
        HOST,
        '-p',
        String(port),
        '-m',
        String(monitorPort),
        // A fixed name keeps JetStream's stored state attached to the same server across restarts.
        '--server_name',
        'procstream-local',
        '-js',
        '-sd',
        join(dataDir, 'jetstream'),
      ],
      logFile,
      errorCode: 'NATS_START_FAILED',
      what: 'nats-server',
    },
    probe: () => healthy(monitorPort),
    timeoutMs: readyTimeoutMs,
    intervalMs: 100,
    exitedCode: 'NATS_EXITED',
    notReadyCode: 'NATS_NOT_READY',
    notReady: `not healthy after ${readyTimeoutMs / 1000} s on ${url}`,
  })
  log(`NATS ready on ${url} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${server.pid})`)

  return {
    url,
    logFile,
    pid: server.pid,
    stop: async () => {
      const exit = await server.stop(15_000)
      log(`NATS stopped (${describeExit(exit)})`)
    },
  }
}
