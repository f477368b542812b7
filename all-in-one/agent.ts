import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { resolve } from 'node:path'
import type { Logger } from '#platform/logger.ts'
import { LOCAL_TENANT } from './keys.ts'

/**
 * This host's agent, as its own process as on any host, sending through the gateway with a key that
 * can only ingest. Returns how to stop it (SIGTERM: it flushes what it holds).
 */
export function startAgent(o: {
  repoRoot: string
  dataDir: string
  gatewayUrl: string
  keyFile: string
  natsEnv: NodeJS.ProcessEnv
  logFile: string
  logger: Logger
  /** True once npm start is stopping, when the agent's exit is expected. */
  stopping: () => boolean
}): () => Promise<void> {
  // The agent sends through the gateway; Kafka and NATS settings meant for the core must not reach it.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => name !== 'KAFKA_BROKERS' && !name.startsWith('KAFKA_SASL_') && !name.startsWith('NATS_'),
    ),
  )
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    AGENT_INGEST_URL: o.gatewayUrl,
    AGENT_KEY_FILE: o.keyFile,
    AGENT_TENANT: LOCAL_TENANT,
    // Samples taken while Kafka is away wait on disk, and survive a restart of npm start.
    AGENT_SPOOL_DIR: resolve(o.dataDir, 'agent-spool'),
    ...o.natsEnv,
    // A self-signed gateway certificate is its own CA: the agent trusts it.
    ...(process.env.TLS_CERT_FILE !== undefined && { NODE_EXTRA_CA_CERTS: process.env.TLS_CERT_FILE }),
  }
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(o.repoRoot, 'agent/src/main.ts')], {
    cwd: o.repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log = createWriteStream(o.logFile, { flags: 'a' })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  child.on('exit', (code, signal) => {
    if (!o.stopping()) o.logger.error({ code, signal, logFile: o.logFile }, 'the agent exited')
  })
  return async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((done) => child.once('exit', done))
    child.kill('SIGTERM')
    await exited
  }
}
