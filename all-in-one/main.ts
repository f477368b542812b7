/**
 * `npm start`: the whole pipeline on this machine. Kafka (KRaft) and NATS run as child processes
 * (services.ts); the stream processor and the query API share this process, because embedded
 * ClickHouse (chdb) binds one data directory per process and both read or write it. The ingest
 * gateway runs as a process of its own, restarted if it dies, so nothing a request does to it
 * reaches the rest; it reads API keys from this process's ClickHouse over loopback (gateway.ts). The
 * agent runs as its own process, as it does on any host, and sends through the gateway with a key
 * of its own that can only ingest (agent.ts, keys.ts).
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { pino } from 'pino'
import { ConfigReader } from '#platform/config.ts'
import { ConfigError, ProcstreamError } from '#platform/errors.ts'
import { createLogger } from '#platform/logger.ts'
import { readNatsClient } from '#platform/nats-client.ts'
import { readQueryApiConfig } from '../query-api/src/config.ts'
import { startAgent } from './agent.ts'
import { startAuth, startCore } from './core.ts'
import { startGateway } from './gateway.ts'
import { ensureInstallationKeys } from './keys.ts'
import { followNatsUsers } from './nats-users.ts'
import { startQueryApi } from './query-api.ts'
import { startServices } from './services.ts'

const REPO_ROOT = resolve(import.meta.dirname, '..')
// Structured logs go to a file in the data folder once it is known; the terminal gets short lines.
let logger = createLogger('procstream')
const stops: (() => Promise<void>)[] = []
let stopping = false

function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

async function shutdown(code: number): Promise<void> {
  if (!stopping) {
    stopping = true
    say('stopping…')
    // Stop in reverse order of start: the agent first, Kafka last.
    for (const stop of stops.reverse()) {
      try {
        await stop()
      } catch (err) {
        logger.warn({ err }, 'error while stopping')
      }
    }
  }
  process.exit(code)
}

async function main(): Promise<void> {
  const r = new ConfigReader(process.env)
  const dataDir = resolve(r.string('PROCSTREAM_DATA_DIR', resolve(REPO_ROOT, '.data')))
  const externalBrokers = r.hostPorts('KAFKA_BROKERS')
  // External NATS: its service credential from the environment, required (platform/nats-client.ts).
  const externalNats = readNatsClient(r, 'service')
  const partitions = r.int('KAFKA_PARTITIONS', 6, { min: 1, max: 1000 })
  const retentionHours = r.int('KAFKA_RETENTION_HOURS', 24, { min: 1, max: 24 * 365 })
  r.done({})
  mkdirSync(dataDir, { recursive: true })
  const logFile = resolve(dataDir, 'procstream.log')
  logger = createLogger('procstream', {
    destination: pino.destination({ dest: logFile, append: true, sync: false }),
  })
  const apiConfig = readQueryApiConfig(process.env)

  const services = await startServices({ dataDir, externalBrokers, externalNats, partitions, stops, say })
  const core = await startCore({ dataDir, services, partitions, retentionHours, logger, stops, say })
  const keys = await ensureInstallationKeys(core.store, dataDir, say)
  const agentNatsEnv = await followNatsUsers({
    services,
    store: core.store,
    refreshMs: apiConfig.keysRefreshMs,
    dataDir,
    logger,
    stops,
    say,
  })
  const { auth, readiness } = await startAuth({
    core,
    refreshMs: apiConfig.keysRefreshMs,
    logger,
    stops,
  })
  const { gateway, logFile: gatewayLog } = await startGateway({
    repoRoot: REPO_ROOT,
    dataDir,
    services,
    processorConfig: core.processorConfig,
    logger,
  })
  stops.push(() => gateway.stop())
  say(`Ingest gateway: ${gateway.url}/v1/ingest (its own process; log: ${gatewayLog})`)
  const url = await startQueryApi({
    apiConfig,
    core,
    auth,
    readiness,
    gatewayUrl: gateway.url,
    logger,
    stops,
  })

  const agentLog = resolve(dataDir, 'agent.log')
  stops.push(
    startAgent({
      repoRoot: REPO_ROOT,
      dataDir,
      gatewayUrl: gateway.url,
      keyFile: keys.agent.file,
      natsEnv: agentNatsEnv,
      logFile: agentLog,
      logger,
      stopping: () => stopping,
    }),
  )

  const key = keys.dashboard.key
  const operatorKeyFile = keys.local.file
  say('')
  say(`procstream is running (data in ${dataDir}; logs: ${logFile}, ${agentLog})`)
  say(`  dashboard:  ${url}/#key=${key}`)
  say(`  API key:    ${key}`)
  say(`  try:        curl -H 'Authorization: Bearer ${key}' ${url}/api/hosts`)
  say(`  admin:      npm run admin -- key list   (uses the operator key in ${operatorKeyFile})`)
  // The operator key is never printed (a link would put it in browser history): the page asks for it.
  say(`  pipeline:   ${url}/#pipeline   (sign in with the operator key in ${operatorKeyFile})`)
  say(`  report:     npm run report -- --host <host> --from -1h --to now --out report.html`)
  say('Press Ctrl-C to stop.')
}

process.once('SIGINT', () => void shutdown(0))
process.once('SIGTERM', () => void shutdown(0))
main().catch(async (err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`)
  else if (err instanceof ProcstreamError)
    process.stderr.write(`procstream could not start: ${err.message}\n`)
  else
    process.stderr.write(
      `procstream could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
  await shutdown(1)
})
