/**
 * A stand-alone processor process, for the distributed mode (several of them share one consumer
 * group). With embedded ClickHouse only one process may own the data directory: use `npm start`, or
 * `npm run storage` and CLICKHOUSE_URL to run several on one machine.
 */
import { createClickHouse, describeClickHouse } from '#platform/clickhouse.ts'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { connectNats } from '#platform/nats-client.ts'
import { runService } from '#platform/service-main.ts'
import { readProcessorConfig } from './config.ts'
import { serveProcessorMetrics, startProcessor } from './service.ts'

runService('processor', async () => {
  const logger = createLogger('stream-processor')
  const config = readProcessorConfig(process.env, process.env.PROCSTREAM_DATA_DIR ?? '.data')
  const clickhouse = await createClickHouse(config.clickhouse)
  const nats =
    config.nats === undefined
      ? undefined
      : await connectNats(config.nats, 'procstream-processor', { maxReconnectAttempts: -1 })
  const processor = await startProcessor({
    config,
    kafka: createKafka(config.brokers, 'procstream-processor', logger, config.kafkaSecurity),
    clickhouse,
    logger,
    ...(nats && { nats }),
  })
  logger.info({ clickhouse: describeClickHouse(config.clickhouse), topic: config.topic }, 'processor running')
  const metrics = await serveProcessorMetrics(processor, config, logger)
  return async () => {
    await metrics?.close()
    await processor.stop()
    await nats?.drain()
    await clickhouse.close()
  }
})
