/**
 * `npm start`: the whole pipeline on this machine. Kafka (KRaft) and NATS run as child processes;
 * the stream processor and the query API share this process, because embedded ClickHouse (chdb)
 * binds one data directory per process; the agent runs as its own process, as it does on any host.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { connect, type NatsConnection } from 'nats'
import { pino } from 'pino'
import { createClickHouse, describeClickHouse, pingClickHouse } from '../../platform/clickhouse.ts'
import { ConfigReader } from '../../platform/config.ts'
import { ConfigError, ProcstreamError } from '../../platform/errors.ts'
import { createKafka } from '../../platform/kafka.ts'
import { createLogger } from '../../platform/logger.ts'
import { StaticKeyResolver } from '../../query-api/src/auth.ts'
import { readQueryApiConfig } from '../../query-api/src/config.ts'
import { buildQueryApi } from '../../query-api/src/server.ts'
import { readProcessorConfig } from '../../stream-processors/src/config.ts'
import { serveProcessorMetrics, startProcessor } from '../../stream-processors/src/service.ts'
import { ensureKafkaJars, ensureTopics, startKafka, type LocalKafka } from './kafka.ts'
import { startNats, type LocalNats } from './nats.ts'

const REPO_ROOT = resolve(import.meta.dirname, '../..')
// Structured logs go to a file in the data folder once it is known; the terminal gets short lines.
let logger = createLogger('procstream')
const stops: (() => Promise<void>)[] = []
let stopping = false

function say(line: string): void {
  process.stdout.write(`${line}\n`)
}

/** The local key is made once and kept in the data folder, so a restart keeps the same key. */
function localKey(dataDir: string, fromEnv: string | undefined): string {
  if (fromEnv) return fromEnv
  const file = resolve(dataDir, 'local-key')
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  const key = `psk_local_${randomBytes(24).toString('base64url')}`
  writeFileSync(file, `${key}\n`, { mode: 0o600 })
  return key
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
  const externalNats = r.url('NATS_URL', ['nats:', 'tls:'])
  const partitions = r.int('KAFKA_PARTITIONS', 6, { min: 1, max: 1000 })
  const retentionHours = r.int('KAFKA_RETENTION_HOURS', 24, { min: 1, max: 24 * 365 })
  r.done({})
  mkdirSync(dataDir, { recursive: true })
  const logFile = resolve(dataDir, 'procstream.log')
  logger = createLogger('procstream', {
    destination: pino.destination({ dest: logFile, append: true, sync: false }),
  })
  const key = localKey(dataDir, process.env.PROCSTREAM_LOCAL_KEY)
  const apiConfig = readQueryApiConfig(process.env, { localKey: key })
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

  let natsUrl: string
  if (externalNats) {
    natsUrl = externalNats
  } else {
    const nats: LocalNats = await startNats({ dataDir: resolve(dataDir, 'nats'), log })
    stops.push(() => nats.stop())
    natsUrl = nats.url
    say(`NATS: up at ${natsUrl} (log: ${nats.logFile})`)
  }
  const nc: NatsConnection = await connect({ servers: natsUrl, name: 'procstream-core' })
  stops.push(() => nc.drain())

  const processorConfig = readProcessorConfig(process.env, dataDir, { brokers })
  await ensureTopics(brokers, [
    { name: processorConfig.topic, partitions, retentionMs: retentionHours * 3600_000 },
  ])
  const clickhouse = await createClickHouse(processorConfig.clickhouse)
  stops.push(() => clickhouse.close())
  say(`ClickHouse: ${describeClickHouse(processorConfig.clickhouse)}`)

  const kafka = createKafka(brokers, 'procstream-core', logger)
  const processor = await startProcessor({ config: processorConfig, kafka, clickhouse, logger, nats: nc })
  const processorMetrics = await serveProcessorMetrics(processor, processorConfig, logger)
  stops.push(async () => {
    await processorMetrics?.close()
  })
  stops.push(() => processor.stop())

  const admin = kafka.admin()
  await admin.connect()
  stops.push(() => admin.disconnect())
  const app = await buildQueryApi({
    clickhouse,
    database: processorConfig.clickhouse.database,
    keys: new StaticKeyResolver(key, apiConfig.localTenant),
    logger,
    maxPoints: apiConfig.maxPoints,
    readiness: [
      {
        name: 'kafka',
        check: async () => {
          await admin.describeCluster()
        },
      },
      { name: 'clickhouse', check: () => pingClickHouse(clickhouse) },
      { name: 'nats', check: () => nc.flush() },
    ],
  })
  await app.listen({ host: apiConfig.host, port: apiConfig.port })
  stops.push(() => app.close())

  const agentLog = resolve(dataDir, 'agent.log')
  const agent = spawnAgent(
    {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC: processorConfig.topic,
      AGENT_TENANT: apiConfig.localTenant,
      // Samples taken while Kafka is away wait on disk, and survive a restart of npm start.
      AGENT_SPOOL_DIR: resolve(dataDir, 'agent-spool'),
      NATS_URL: natsUrl,
    },
    agentLog,
  )
  stops.push(async () => {
    if (agent.exitCode !== null) return
    const exited = new Promise((done) => agent.once('exit', done))
    agent.kill('SIGTERM')
    await exited
  })

  const url = `http://${apiConfig.host}:${apiConfig.port}`
  say('')
  say(`procstream is running (data in ${dataDir}; logs: ${logFile}, ${agentLog})`)
  say(`  dashboard:  ${url}/#key=${key}`)
  say(`  API key:    ${key}`)
  say(`  try:        curl -H 'Authorization: Bearer ${key}' ${url}/api/hosts`)
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
