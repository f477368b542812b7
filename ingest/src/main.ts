/**
 * The ingest gateway as its own process (`npm run ingest`), for distributed installations. It reads
 * API keys from the installation's ClickHouse server; in the all-in-one `npm start` the gateway runs
 * inside the core process instead, next to the embedded ClickHouse it shares.
 */
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { KeyStore } from '#platform/auth/key-store.ts'
import { createClickHouse, pingClickHouse } from '#platform/clickhouse.ts'
import { ConfigError } from '#platform/errors.ts'
import { createKafka } from '#platform/kafka.ts'
import { runService } from '#platform/service-main.ts'
import { createLogger } from '#platform/logger.ts'
import { readIngestConfig } from './config.ts'
import { startIngestGateway } from './service.ts'

const logger = createLogger('ingest')

async function main(): Promise<() => Promise<void>> {
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
  return async () => {
    auth.stop()
    await gateway.stop()
    await admin.disconnect()
    await clickhouse.close()
  }
}

runService('ingest', main)
