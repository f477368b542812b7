import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from '#platform/logger.ts'
import { ChdbExecutor } from '../storage/src/chdb-executor.ts'
import { buildStorageServer } from '../storage/src/server.ts'
import { describeExit, httpOk, ManagedProcess, startUntilReady } from '../deploy/local/service-process.ts'

/**
 * The ingest gateway of `npm start` as a process of its own, restarted when it dies.
 *
 * Why: the gateway decodes what any holder of an ingest key sends. Whatever a request costs it, in
 * memory or time, it costs that process alone: its heap is capped (`maxHeapMb`), and if it dies or
 * hangs the processors, the query API, Kafka and NATS go on and the gateway comes back. It reads API
 * keys from the core's embedded ClickHouse through the storage server's HTTP interface, bound to
 * 127.0.0.1 with a password made for this run (or from CLICKHOUSE_URL when that is a server).
 */
export interface GatewayProcess {
  url: string
  /** How often it has been restarted since start-up. */
  restarts(): number
  /** The running gateway's process id. */
  pid(): number
  stop(): Promise<void>
}

export interface GatewayProcessOptions {
  repoRoot: string
  /** The gateway's environment: Kafka, NATS, INGEST_*, TLS; ClickHouse is added here. */
  env: NodeJS.ProcessEnv
  /** Embedded chdb data folder to serve the key table from; undefined when CLICKHOUSE_URL is a server. */
  embeddedPath: string | undefined
  url: string
  logFile: string
  logger: Logger
  maxHeapMb?: number
  readyTimeoutMs?: number
}

/** Restart delays after an unexpected exit: doubling from the first, capped at the last. */
const FIRST_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 30_000
/** Running this long resets the delay: the next crash is a new incident, not a crash loop. */
const STABLE_MS = 60_000

async function healthy(url: string, ca: Buffer | undefined): Promise<boolean> {
  const target = new URL('/healthz', url)
  if (target.protocol === 'http:') return httpOk(target)
  // A self-signed certificate is its own CA (TLS_CERT_FILE), as the agent trusts it.
  return new Promise((done) => {
    const req = httpsRequest(target, { ca, timeout: 2_000 }, (res) => {
      res.resume()
      done(res.statusCode === 200)
    })
    req.on('error', () => {
      done(false)
    })
    req.on('timeout', () => {
      req.destroy()
      done(false)
    })
    req.end()
  })
}

async function serveKeys(
  path: string,
  logger: Logger,
): Promise<{ env: NodeJS.ProcessEnv; close(): Promise<void> }> {
  const executor = new ChdbExecutor(path)
  const password = randomBytes(32).toString('base64url')
  const app: FastifyInstance = buildStorageServer({
    executor,
    credentials: { user: 'gateway', password },
    maxBodyBytes: 1024 * 1024,
    logger: logger.child({ component: 'gateway-storage' }),
    loopbackOnly: true,
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return {
    env: { CLICKHOUSE_URL: url, CLICKHOUSE_USER: 'gateway', CLICKHOUSE_PASSWORD: password },
    close: async () => {
      await app.close()
      executor.close()
    },
  }
}

export async function startGatewayProcess(o: GatewayProcessOptions): Promise<GatewayProcess> {
  const storage = o.embeddedPath === undefined ? undefined : await serveKeys(o.embeddedPath, o.logger)
  const ca = o.env.TLS_CERT_FILE === undefined ? undefined : readFileSync(o.env.TLS_CERT_FILE)
  const env = { ...o.env, ...storage?.env }
  const start = (): Promise<ManagedProcess> =>
    startUntilReady({
      start: {
        command: process.execPath,
        args: [
          `--max-old-space-size=${String(o.maxHeapMb ?? 512)}`,
          '--import',
          'tsx',
          resolve(o.repoRoot, 'ingest/src/main.ts'),
        ],
        env,
        logFile: o.logFile,
        errorCode: 'GATEWAY_START_FAILED',
        what: 'the ingest gateway',
      },
      probe: () => healthy(o.url, ca),
      timeoutMs: o.readyTimeoutMs ?? 60_000,
      intervalMs: 200,
      exitedCode: 'GATEWAY_EXITED',
      notReadyCode: 'GATEWAY_NOT_READY',
      notReady: `not answering on ${o.url}`,
    })

  let proc: ManagedProcess
  try {
    proc = await start()
  } catch (err) {
    await storage?.close()
    throw err
  }
  let stopping = false
  let restarts = 0
  let backoff = FIRST_BACKOFF_MS
  let retry: NodeJS.Timeout | undefined

  const supervise = (p: ManagedProcess, startedAt: number): void => {
    void p.exited.then((exit) => {
      if (stopping) return
      if (Date.now() - startedAt > STABLE_MS) backoff = FIRST_BACKOFF_MS
      o.logger.error(
        { exit: describeExit(exit), restartInMs: backoff, logFile: o.logFile },
        'the ingest gateway exited; restarting it',
      )
      const again = (): void => {
        retry = undefined
        if (stopping) return
        start().then(
          async (next) => {
            // Stopped while it was starting: it must not outlive npm start.
            if (stopping) {
              await next.stop(5_000)
              return
            }
            proc = next
            restarts++
            o.logger.info({ restarts }, 'the ingest gateway is back')
            supervise(next, Date.now())
          },
          (err: unknown) => {
            o.logger.error({ err }, 'the ingest gateway did not come back; trying again')
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
            retry = setTimeout(again, backoff)
          },
        )
      }
      retry = setTimeout(again, backoff)
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)
    })
  }
  supervise(proc, Date.now())

  return {
    url: o.url,
    restarts: () => restarts,
    pid: () => proc.pid,
    stop: async () => {
      stopping = true
      clearTimeout(retry)
      await proc.stop(15_000)
      await storage?.close()
    },
  }
}
