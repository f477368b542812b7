import type { ClickHouseClient } from '@clickhouse/client'
import type { Kafka } from 'kafkajs'
import type { NatsConnection } from 'nats'
import type { Logger } from '#platform/logger.ts'
import { serveMetricsOrLog, type MetricsServer } from '#platform/metrics-server.ts'
import type { DdlOptions } from '#schemas/clickhouse/ddl.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'
import { AdmissionRule } from '#schemas/src/admission.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { ClickHouseSink } from './clickhouse-sink.ts'
import type { ProcessorConfig } from './config.ts'
import { DeadLetterSink } from './dead-letters.ts'
import { LivePublisher } from './live-publisher.ts'
import { processorMetricsText } from './metrics.ts'
import { StreamProcessor } from './processor.ts'
import { SeriesRegistry } from './rows.ts'
import { TierFeeder } from './tier-feeder.ts'

/** Apply the schema, then run one processor (a group member) until stopped. */
/** The schema the processor's settings ask for (retention, deduplication, profile). */
export function ddlOptions(config: ProcessorConfig): DdlOptions {
  return {
    database: config.clickhouse.database,
    rawTtlDays: config.rawTtlDays,
    tier10sTtlDays: config.tier10sTtlDays,
    tier1mTtlDays: config.tier1mTtlDays,
    tier1hTtlDays: config.tier1hTtlDays,
    dedupWindow: config.dedupWindow,
    profile: config.clickhouse.profile,
    cluster: config.clickhouse.cluster,
  }
}

export async function startProcessor(deps: {
  config: ProcessorConfig
  kafka: Kafka
  clickhouse: ClickHouseClient
  logger: Logger
  /** Publish stored points for live charts (stream-processors/src/live-publisher.ts). */
  nats?: NatsConnection
}): Promise<StreamProcessor> {
  const { config } = deps
  const { sqlUser, sqlPassword, url } = config.clickhouse
  const applied = await migrate(deps.clickhouse, ddlOptions(config), {
    tenantSqlUser:
      url !== undefined && sqlUser !== undefined ? { name: sqlUser, password: sqlPassword ?? '' } : undefined,
  })
  if (applied.length > 0) deps.logger.info({ applied }, 'ClickHouse migrations applied')
  const sink = new ClickHouseSink(deps.clickhouse, config.clickhouse.database, {
    profile: config.clickhouse.profile,
    tiers: 'feeder',
  })
  const registry = new SeriesRegistry()
  const tiers = new TierFeeder({
    kafka: deps.kafka,
    topic: config.topic,
    rawGroupId: config.groupId,
    sink,
    codec: envelopeCodec(),
    logger: deps.logger,
    batchMs: config.tierBatchMs,
    maxMessages: config.tierMaxMessages,
    concurrentPartitions: config.concurrentPartitions,
    sessionTimeoutMs: config.sessionTimeoutMs,
    registry,
  })
  const processor = new StreamProcessor({
    registry,
    tiers,
    kafka: deps.kafka,
    topic: config.topic,
    ...(config.topicTenant !== undefined && { topicTenant: config.topicTenant }),
    groupId: config.groupId,
    sink,
    codec: envelopeCodec(),
    logger: deps.logger,
    maxMessagesPerInsert: config.maxMessagesPerInsert,
    concurrentPartitions: config.concurrentPartitions,
    maxHostsPerTenant: config.maxHostsPerTenant,
    maxSeriesPerEnvelope: config.maxSeriesPerEnvelope,
    maxSeriesPerHost: config.maxSeriesPerHost,
    seriesWindowS: config.seriesWindowS,
    sessionTimeoutMs: config.sessionTimeoutMs,
    deadLetters: new DeadLetterSink(deps.kafka, config.deadLetterTopic),
    admission: new AdmissionRule(envelopeCodec().readerType, config.admission),
    ...(deps.nats && { live: new LivePublisher(deps.nats) }),
  })
  // The feeder first: on a new installation it must find the raw group with nothing committed yet.
  await tiers.start()
  await processor.start()
  return processor
}

/**
 * /metrics on PROCESSOR_METRICS_LISTEN. A port that is taken is logged and the processor goes on:
 * storing data matters more than the scrape endpoint.
 */
export function serveProcessorMetrics(
  processor: StreamProcessor,
  config: ProcessorConfig,
  logger: Logger,
): Promise<MetricsServer | undefined> {
  return serveMetricsOrLog({
    listen: config.metricsListen,
    render: () => processorMetricsText(processor),
    logger,
    what: 'the processor’s metrics',
    goesOn: 'processing goes on',
  })
}
