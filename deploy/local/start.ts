/**
 * `npm start`: the whole pipeline on this machine. Kafka (KRaft) and NATS run as child processes;
 * the stream processor and the query API share this process, because embedded ClickHouse (chdb)
 * binds one data directory per process and both read or write it. The ingest gateway runs as a
 * process of its own, restarted if it dies, so nothing a request does to it reaches the rest; it
 * reads API keys from this process's ClickHouse over loopback (gateway-process.ts). The agent runs
 * as its own process, as it does on any host, and sends through the gateway with a key of its own
 * that can only ingest.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { NatsConnection } from 'nats'
import { pino } from 'pino'
import {
  createClickHouse,
  createTenantSqlClickHouse,
  describeClickHouse,
  pingClickHouse,
} from '../../platform/clickhouse.ts'
import { ConfigReader } from '../../platform/config.ts'
import { ConfigError, ProcstreamError } from '../../platform/errors.ts'
import { createKafka } from '../../platform/kafka.ts'
import { createLogger } from '../../platform/logger.ts'
import { natsCredentialFor } from '../../platform/nats-auth.ts'
import { connectNats, readNatsClient, type NatsClientConfig } from '../../platform/nats-client.ts'
import { KeyAuthenticator } from '../../platform/auth/authenticator.ts'
import { KeyStore } from '../../platform/auth/key-store.ts'
import { readIngestConfig } from '../../ingest/src/config.ts'
import { readQueryApiConfig } from '../../query-api/src/config.ts'
import { buildQueryApi, queryApiOptionsFrom } from '../../query-api/src/server.ts'
import { readProcessorConfig } from '../../stream-processors/src/config.ts'
import { serveProcessorMetrics, startProcessor } from '../../stream-processors/src/service.ts'
import { ensureKafkaJars, ensureTopics, startKafka, type LocalKafka } from './kafka.ts'
import { ensureLocalKey, LOCAL_TENANT } from './local-keys.ts'
import { startGatewayProcess } from './gateway-process.ts'
import { localPipelineTargets } from './pipeline-targets.ts'
import { followTenants, NATS_SERVICE_PASSWORD_FILE, startNats, type LocalNats } from './nats.ts'

const REPO_ROOT = resolve(import.meta.dirname, '../..')
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

function spawnAgent(env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(REPO_ROOT, 'agent/src/main.ts')], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const log = createWriteStream(logFile, { flags: 'a' })
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  child.on('exit', (code, signal) => {
    if (!stopping) logger.error({ code, signal, logFile }, 'the agent exited')
  })
  return child
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
  const log = (line: string): void => {
    say(`  ${line}`)
  }

  let brokers: string[]
  if (externalBrokers) {
    brokers = externalBrokers
    say(`Kafka: using ${brokers.join(',')}`)
  } else {
    say('Kafka: preparing the broker (first run downloads its jars with Maven)…')
    await ensureKafkaJars({ log })
    const kafka: LocalKafka = await startKafka({ dataDir: resolve(dataDir, 'kafka'), partitions, log })
    stops.push(() => kafka.stop())
    brokers = kafka.brokers
    say(`Kafka: broker up at ${brokers.join(',')} (log: ${kafka.logFile})`)
  }

  let natsClient: NatsClientConfig
  let localNats: LocalNats | undefined
  if (externalNats) {
    natsClient = externalNats
  } else {
    // Tenants are added once the key store can be read, below; until then only the service user.
    localNats = await startNats({ dataDir: resolve(dataDir, 'nats'), log })
    const nats = localNats
    stops.push(() => nats.stop())
    natsClient = { url: nats.url, ...nats.credential, tenant: undefined }
    say(`NATS: up at ${nats.url}, users and passwords required (log: ${nats.logFile})`)
  }
  const nc: NatsConnection = await connectNats(natsClient, 'procstream-core')
  stops.push(() => nc.drain())

  const processorConfig = readProcessorConfig(process.env, dataDir, { brokers })
  await ensureTopics(brokers, [
    { name: processorConfig.topic, partitions, retentionMs: retentionHours * 3600_000 },
  ])
  const clickhouse = await createClickHouse(processorConfig.clickhouse)
  stops.push(() => clickhouse.close())
  const sqlClickhouse = await createTenantSqlClickHouse(processorConfig.clickhouse)
  say(`ClickHouse: ${describeClickHouse(processorConfig.clickhouse)}`)

  const kafka = createKafka(brokers, 'procstream-core', logger, processorConfig.kafkaSecurity)
  const processor = await startProcessor({ config: processorConfig, kafka, clickhouse, logger, nats: nc })
  const processorMetrics = await serveProcessorMetrics(processor, processorConfig, logger)
  stops.push(async () => {
    await processorMetrics?.close()
  })
  stops.push(() => processor.stop())

  const store = new KeyStore(clickhouse, processorConfig.clickhouse.database)
  const local = await ensureLocalKey({
    store,
    dataDir,
    file: 'local-key',
    keyId: 'local',
    // The installation operator's, for npm run admin; never printed, so it is in no browser history.
    scopes: ['operator'],
    name: 'all-in-one operator key',
    fromEnv: process.env.PROCSTREAM_LOCAL_KEY,
    envName: 'PROCSTREAM_LOCAL_KEY',
  })
  if (local.revoked)
    say(`warning: the local key in ${local.file} is revoked; make a new one with npm run admin`)
  // The agent holds a key that can only ingest, as an agent on another host would.
  const agentKey = await ensureLocalKey({
    store,
    dataDir,
    file: 'agent-key',
    keyId: 'localagent',
    scopes: ['ingest'],
    name: 'all-in-one agent',
  })
  // What the dashboard link and the examples carry: a tenant's key that reads and runs SQL, no more.
  const dashboardKey = await ensureLocalKey({
    store,
    dataDir,
    file: 'dashboard-key',
    keyId: 'localdash',
    scopes: ['read', 'sql'],
    name: 'all-in-one dashboard',
  })
  if (dashboardKey.revoked)
    say(`warning: the dashboard key in ${dashboardKey.file} is revoked; make a new one with npm run admin`)
  let agentNatsEnv: NodeJS.ProcessEnv = {}
  if (localNats) {
    // The server's users follow the tenant table, so a tenant created with `npm run admin` gets a
    // working NATS credential (npm run nats-credential) within one refresh.
    const following = await followTenants(localNats, store, apiConfig.keysRefreshMs, logger)
    stops.push(() => {
      following.stop()
      return Promise.resolve()
    })
    // The agent's control subscription is its credential's tenant's, and the server enforces that.
    const agentCredential = resolve(dataDir, 'nats', 'agent-credential.json')
    writeFileSync(agentCredential, JSON.stringify(natsCredentialFor(LOCAL_TENANT, localNats.secret)), {
      mode: 0o600,
    })
    agentNatsEnv = { NATS_URL: natsClient.url, NATS_CREDENTIALS_FILE: agentCredential }
  } else {
    // No tenant credential to hand out: its control comes through the gateway, on its ingest key.
    say('NATS: external, so the local agent takes live control through the ingest gateway')
  }
  const auth = new KeyAuthenticator(store, { refreshMs: apiConfig.keysRefreshMs, logger })
  await auth.start()
  stops.push(() => {
    auth.stop()
    return Promise.resolve()
  })

  const admin = kafka.admin()
  await admin.connect()
  stops.push(() => admin.disconnect())
  const readiness = [
    {
      name: 'kafka',
      check: async () => {
        await admin.describeCluster()
      },
    },
    { name: 'clickhouse', check: () => pingClickHouse(clickhouse) },
    { name: 'nats', check: () => nc.flush() },
  ]
  // The gateway decodes what any ingest key sends: its own process, heap capped, restarted if it dies
  // (gateway-process.ts), so no request can take the processors, the query API or the services down.
  const ingestConfig = readIngestConfig(process.env, dataDir, { brokers })
  const gatewayLog = resolve(dataDir, 'gateway.log')
  const gatewayEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PROCSTREAM_DATA_DIR: dataDir,
    KAFKA_BROKERS: brokers.join(','),
    CLICKHOUSE_DATABASE: processorConfig.clickhouse.database,
  }
  // The gateway needs no operator key: what it does not hold, a compromise of it cannot leak.
  for (const name of ['PROCSTREAM_LOCAL_KEY', 'PROCSTREAM_ADMIN_KEY'])
    Reflect.deleteProperty(gatewayEnv, name)
  if (localNats) {
    // Control through the gateway for agents without a NATS credential, as the service user.
    for (const name of ['NATS_PASSWORD', 'NATS_CREDENTIALS_FILE']) Reflect.deleteProperty(gatewayEnv, name)
    Object.assign(gatewayEnv, {
      NATS_URL: natsClient.url,
      NATS_USER: natsClient.user,
      NATS_PASSWORD_FILE: resolve(dataDir, 'nats', NATS_SERVICE_PASSWORD_FILE),
    })
  }
  const gateway = await startGatewayProcess({
    repoRoot: REPO_ROOT,
    env: gatewayEnv,
    embeddedPath:
      processorConfig.clickhouse.url === undefined ? processorConfig.clickhouse.embeddedPath : undefined,
    url: `${ingestConfig.tls ? 'https' : 'http'}://${ingestConfig.host}:${String(ingestConfig.port)}`,
    logFile: gatewayLog,
    logger,
  })
  stops.push(() => gateway.stop())
  say(`Ingest gateway: ${gateway.url}/v1/ingest (its own process; log: ${gatewayLog})`)

  const app = await buildQueryApi({
    clickhouse,
    sqlClickhouse,
    sqlTenantSetting: processorConfig.clickhouse.sqlUser !== undefined,
    database: processorConfig.clickhouse.database,
    keys: auth,
    admin: { keys: auth, store },
    logger,
    ...queryApiOptionsFrom(apiConfig, nc),
    pipeline: {
      targets:
        apiConfig.pipelineTargets.length > 0
          ? apiConfig.pipelineTargets
          : localPipelineTargets({
              gatewayUrl: gateway.url,
              processorMetrics: processorMetrics?.address,
              agentMetricsListen: process.env.AGENT_METRICS_LISTEN,
              queryApiUrl: `${apiConfig.tls ? 'https' : 'http'}://${apiConfig.host}:${String(apiConfig.port)}`,
            }),
      timeoutMs: apiConfig.pipelineTimeoutMs,
    },
    readiness,
  })
  await app.listen({ host: apiConfig.host, port: apiConfig.port })
  stops.push(() => app.close())

  const agentLog = resolve(dataDir, 'agent.log')
  // The agent sends through the gateway; Kafka and NATS settings meant for the core must not reach it.
  const agentEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => name !== 'KAFKA_BROKERS' && !name.startsWith('KAFKA_SASL_') && !name.startsWith('NATS_'),
    ),
  )
  const agent = spawnAgent(
    {
      ...agentEnv,
      AGENT_INGEST_URL: gateway.url,
      AGENT_KEY_FILE: agentKey.file,
      AGENT_TENANT: LOCAL_TENANT,
      // Samples taken while Kafka is away wait on disk, and survive a restart of npm start.
      AGENT_SPOOL_DIR: resolve(dataDir, 'agent-spool'),
      ...agentNatsEnv,
      // A self-signed gateway certificate is its own CA: the agent trusts it.
      ...(process.env.TLS_CERT_FILE !== undefined && { NODE_EXTRA_CA_CERTS: process.env.TLS_CERT_FILE }),
    },
    agentLog,
  )
  stops.push(async () => {
    if (agent.exitCode !== null) return
    const exited = new Promise((done) => agent.once('exit', done))
    agent.kill('SIGTERM')
    await exited
  })

  const url = `${apiConfig.tls ? 'https' : 'http'}://${apiConfig.host}:${String(apiConfig.port)}`
  const key = dashboardKey.key
  say('')
  say(`procstream is running (data in ${dataDir}; logs: ${logFile}, ${agentLog})`)
  say(`  dashboard:  ${url}/#key=${key}`)
  say(`  API key:    ${key}`)
  say(`  try:        curl -H 'Authorization: Bearer ${key}' ${url}/api/hosts`)
  say(`  admin:      npm run admin -- key list   (uses the operator key in ${local.file})`)
  // The operator key is never printed (a link would put it in browser history): the page asks for it.
  say(`  pipeline:   ${url}/#pipeline   (sign in with the operator key in ${local.file})`)
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
