/**
 * The ingest gateway as its own process (`npm run ingest`), for distributed installations. It reads
 * API keys from the installation's ClickHouse server; in the all-in-one `npm start` the gateway runs
 * inside the core process instead, next to the embedded ClickHouse it shares.
 */
import { KeyAuthenticator } from '../../platform/auth/authenticator.ts'
import { KeyStore } from '../../platform/auth/key-store.ts'
import { createClickHouse, pingClickHouse } from '../../platform/clickhouse.ts'
import { ConfigError, ProcstreamError } from '../../platform/errors.ts'
import { createKafka } from '../../platform/kafka.ts'
import { createLogger } from '../../platform/logger.ts'
import { readIngestConfig } from './config.ts'
import { startIngestGateway } from './service.ts'

const logger = createLogger('ingest')

async function main(): Promise<void> {
  const config = readIngestConfig(process.env, process.cwd())
  if (config.clickhouse.url === undefined)
    throw new ConfigError([
      'CLICKHOUSE_URL is required: the gateway reads API keys from the installation’s ClickHouse server (npm start runs it in-process instead)',
    ])
  const clickhouse = await createClickHouse(config.clickhouse)
  const auth = new KeyAuthenticator(new KeyStore(clickhouse, config.clickhouse.database), {
    refreshMs: config.keysRefreshMs,
    logger,
  })
  await auth.start()
  const kafka = createKafka(config.brokers, 'procstream-ingest', logger, config.kafkaSecurity)
  const admin = kafka.admin()
  await admin.connect()
  const gateway = await startIngestGateway({
    config,
    kafka,
    auth,
    logger,
    readiness: [
      {
        name: 'kafka',
        check: async () => {
          await admin.describeCluster()
        },
      },
      { name: 'clickhouse', check: () => pingClickHouse(clickhouse) },
    ],
  })
  logger.info({ url: gateway.url, topic: config.topic }, 'ingest gateway listening')
  const stop = async (): Promise<void> => {
    auth.stop()
    await gateway.stop()
    await admin.disconnect()
    await clickhouse.close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`)
  else if (err instanceof ProcstreamError) process.stderr.write(`ingest could not start: ${err.message}\n`)
  else
    process.stderr.write(
      `ingest could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
  process.exit(1)
})
