import type { ClickHouseClient } from '@clickhouse/client'
import type { Kafka } from 'kafkajs'
import type { NatsConnection } from 'nats'
import {
  createClickHouse,
  createTenantSqlClickHouse,
  describeClickHouse,
  pingClickHouse,
} from '#platform/clickhouse.ts'
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { KeyStore } from '#platform/auth/key-store.ts'
import { createKafka } from '#platform/kafka.ts'
import type { ReadinessCheck } from '#platform/health-routes.ts'
import type { Logger } from '#platform/logger.ts'
import { connectNats } from '#platform/nats-client.ts'
import { readProcessorConfig, type ProcessorConfig } from '../stream-processors/src/config.ts'
import { serveProcessorMetrics, startProcessor } from '../stream-processors/src/service.ts'
import { ensureTopics } from '../deploy/local/kafka.ts'
import type { Services } from './services.ts'

/** What this process runs and the query API shares: ClickHouse, NATS, Kafka and the processor. */
export interface Core {
  processorConfig: ProcessorConfig
  clickhouse: ClickHouseClient
  sqlClickhouse: ClickHouseClient
  nc: NatsConnection
  kafka: Kafka
  /** The processor's metrics address, if it serves them. */
  processorMetrics: string | undefined
  store: KeyStore
}

/** The samples topic, embedded (or external) ClickHouse and the stream processor. */
export async function startCore(o: {
  dataDir: string
  services: Services
  partitions: number
  retentionHours: number
  logger: Logger
  stops: (() => Promise<void>)[]
  say: (line: string) => void
}): Promise<Core> {
  const { stops, logger } = o
  const { brokers } = o.services
  const nc = await connectNats(o.services.natsClient, 'procstream-core')
  stops.push(() => nc.drain())

  const processorConfig = readProcessorConfig(process.env, o.dataDir, { brokers })
  await ensureTopics(brokers, [
    { name: processorConfig.topic, partitions: o.partitions, retentionMs: o.retentionHours * 3600_000 },
  ])
  const clickhouse = await createClickHouse(processorConfig.clickhouse)
  stops.push(() => clickhouse.close())
  const sqlClickhouse = await createTenantSqlClickHouse(processorConfig.clickhouse)
  o.say(`ClickHouse: ${describeClickHouse(processorConfig.clickhouse)}`)

  const kafka = createKafka(brokers, 'procstream-core', logger, processorConfig.kafkaSecurity)
  const processor = await startProcessor({ config: processorConfig, kafka, clickhouse, logger, nats: nc })
  const processorMetrics = await serveProcessorMetrics(processor, processorConfig, logger)
  stops.push(async () => {
    await processorMetrics?.close()
  })
  stops.push(() => processor.stop())

  const store = new KeyStore(clickhouse, processorConfig.clickhouse.database)
  return {
    processorConfig,
    clickhouse,
    sqlClickhouse,
    nc,
    kafka,
    processorMetrics: processorMetrics?.address,
    store,
  }
}

/** The query API's key checks, and its readiness checks of Kafka, ClickHouse and NATS. */
export async function startAuth(o: {
  core: Core
  refreshMs: number
  logger: Logger
  stops: (() => Promise<void>)[]
}): Promise<{ auth: KeyAuthenticator; readiness: ReadinessCheck[] }> {
  const { core, stops } = o
  const auth = new KeyAuthenticator(core.store, { refreshMs: o.refreshMs, logger: o.logger })
  await auth.start()
  stops.push(() => {
    auth.stop()
    return Promise.resolve()
  })

  const admin = core.kafka.admin()
  await admin.connect()
  stops.push(() => admin.disconnect())
  const readiness: ReadinessCheck[] = [
    {
      name: 'kafka',
      check: async () => {
        await admin.describeCluster()
      },
    },
    { name: 'clickhouse', check: () => pingClickHouse(core.clickhouse) },
    { name: 'nats', check: () => core.nc.flush() },
  ]
  return { auth, readiness }
}
