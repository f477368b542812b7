/**
 * The pipeline under test, as its own process: a stream processor and the query API over one
 * embedded ClickHouse (chdb binds one data directory per process, so both live here, as under
 * `npm start`). It registers a read key for the run's tenant and reports where to reach it.
 *
 * Input: LOADTEST_PIPELINE (JSON of PipelineSpec). Output over IPC: PipelineMessage.
 */
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { generateKey } from '#platform/auth/api-key.ts'
import { KeyStore } from '#platform/auth/key-store.ts'
import { createClickHouse, createTenantSqlClickHouse } from '#platform/clickhouse.ts'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { buildQueryApi } from '../../query-api/src/server.ts'
import { readProcessorConfig } from '../../stream-processors/src/config.ts'
import { serveProcessorMetrics, startProcessor } from '../../stream-processors/src/service.ts'

export interface PipelineSpec {
  brokers: string[]
  topic: string
  tenant: string
  dataDir: string
  metricsPort: number
  apiPort: number
  /** Extra processor settings (PROCESSOR_*), as the environment would give them. */
  env: Record<string, string>
}

export type PipelineMessage =
  { type: 'ready'; apiUrl: string; metricsUrl: string; key: string } | { type: 'error'; message: string }

function send(m: PipelineMessage): void {
  process.send?.(m)
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.LOADTEST_PIPELINE ?? '{}') as PipelineSpec
  const logger = createLogger('loadtest-pipeline', { level: 'warn' })
  const config = readProcessorConfig(
    {
      KAFKA_TOPIC: spec.topic,
      PROCESSOR_GROUP_ID: 'loadtest',
      CLICKHOUSE_DATABASE: 'loadtest',
      PROCESSOR_METRICS_LISTEN: `127.0.0.1:${String(spec.metricsPort)}`,
      ...spec.env,
    },
    spec.dataDir,
    { brokers: spec.brokers },
  )
  const clickhouse = await createClickHouse(config.clickhouse)
  const kafka = createKafka(spec.brokers, 'loadtest-pipeline', logger)
  const processor = await startProcessor({ config, kafka, clickhouse, logger })
  const metrics = await serveProcessorMetrics(processor, config, logger)
  const store = new KeyStore(clickhouse, config.clickhouse.database)
  await store.createTenant(spec.tenant, { ifMissing: true })
  const { key } = generateKey()
  await store.registerKey(key, { tenant: spec.tenant, scopes: ['read', 'sql'], name: 'loadtest' })
  const auth = new KeyAuthenticator(store, { refreshMs: 60_000, logger })
  await auth.start()
  const api = await buildQueryApi({
    clickhouse,
    sqlClickhouse: await createTenantSqlClickHouse(config.clickhouse),
    database: config.clickhouse.database,
    keys: auth,
    logger,
    maxPoints: 11_000,
    readiness: [],
    // The observer's probes must never be throttled or cut short.
    rateLimit: { requestsPerS: 100_000, burstS: 1 },
    sql: {
      maxQueryChars: 65_536,
      maxRows: 1_000_000,
      maxExecutionSeconds: 300,
      maxMemoryBytes: 4 * 1024 ** 3,
    },
  })
  const apiUrl = await api.listen({ host: '127.0.0.1', port: spec.apiPort })
  send({ type: 'ready', apiUrl, metricsUrl: `http://127.0.0.1:${String(spec.metricsPort)}/metrics`, key })

  const stop = async (): Promise<void> => {
    await api.close()
    await metrics?.close()
    await processor.stop()
    auth.stop()
    await clickhouse.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void stop())
  process.once('disconnect', () => void stop())
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) })
  process.exit(1)
})
