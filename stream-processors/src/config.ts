import { ConfigReader, type Env } from '#platform/config.ts'
import { readClickHouseConfig, type ClickHouseConfig } from '#platform/clickhouse.ts'
import { SAMPLES_TOPIC } from '#schemas/src/kafka-topic.ts'
import { readKafkaSecurity, type KafkaSecurity } from '#platform/kafka-security.ts'
import { tenantNameProblem } from '#platform/auth/api-key.ts'
import { readNatsClient, type NatsClientConfig } from '#platform/nats-client.ts'
import { readAdmissionBounds, type AdmissionBounds } from '#schemas/src/admission.ts'
import { readRetention } from '#schemas/clickhouse/retention.ts'

export interface ProcessorConfig {
  brokers: string[]
  kafkaSecurity: KafkaSecurity
  topic: string
  /**
   * Set for a topic one tenant's agents produce to directly with their own Kafka credentials: the
   * broker's ACLs let only that tenant write there, so every message must name this tenant.
   */
  topicTenant: string | undefined
  groupId: string
  clickhouse: ClickHouseConfig
  /** Most Kafka messages folded into one ClickHouse insert. */
  maxMessagesPerInsert: number
  rawTtlDays: number
  /** Retention of the rollup tiers (schemas/clickhouse/ddl.ts), each at least as long as the finer one. */
  tier10sTtlDays: number
  tier1mTtlDays: number
  tier1hTtlDays: number
  /** Where to serve the processor's /metrics (lag, inserts, dead letters); undefined: not served. */
  metricsListen: { host: string; port: number } | undefined
  /** Cardinality guards: hosts per tenant, series per sample. */
  maxHostsPerTenant: number
  maxSeriesPerEnvelope: number
  /** Series one host may have with a point in the last `seriesWindowS` of sample time. */
  maxSeriesPerHost: number
  seriesWindowS: number
  /** Partitions processed at the same time by one member (their inserts overlap). */
  concurrentPartitions: number
  /** How much of the stream one batch of the rollup tiers' feed gathers (tier-feeder.ts). */
  tierBatchMs: number
  /** A tier batch closes at this many messages whatever its span. */
  tierMaxMessages: number
  /**
   * NATS for the live path (stored points per tenant and host), with the service credential: it
   * publishes every tenant's subjects. Undefined: no live publishing.
   */
  nats: NatsClientConfig | undefined
  /** Where refused payloads go, with the reason in headers (stream-processors/src/dead-letters.ts). */
  deadLetterTopic: string
  /** How far a sample may lie before / after its Kafka message's timestamp and still be stored. */
  admission: AdmissionBounds
  /** How long the broker waits for a silent member (a crashed processor) before giving its partitions away. */
  sessionTimeoutMs: number
  dedupWindow: number
}

export const DEFAULT_GROUP = 'procstream-processors'

/** Read and validate the processor's settings; `overrides` come from the all-in-one launcher. */
export function readProcessorConfig(
  env: Env,
  dataDir: string,
  overrides: { brokers?: string[] } = {},
): Readonly<ProcessorConfig> {
  const r = new ConfigReader(env)
  const brokers = overrides.brokers ?? r.hostPorts('KAFKA_BROKERS') ?? ['127.0.0.1:9092']
  const ttl = readRetention(r)
  const topic = r.string('KAFKA_TOPIC', SAMPLES_TOPIC)
  const topicTenant = r.string('PROCESSOR_TOPIC_TENANT')
  // A 256-CPU host's cpu family is ~2,600 series; far more in one sample is a cardinality bomb.
  const maxSeriesPerEnvelope = r.int('PROCESSOR_MAX_SERIES_PER_ENVELOPE', 20_000, {
    min: 100,
    max: 10_000_000,
  })
  // node_exporter on a large host is a few thousand series; 50,000 leaves room for many devices
  // while stopping a host that mints a new label value every sample.
  const maxSeriesPerHost = r.int('TENANT_MAX_SERIES_PER_HOST', 50_000, { min: 100, max: 10_000_000 })
  // Below it, a new host's first sample could pass the per-sample cap and fail the host budget after
  // the host had taken one of its tenant's host slots.
  if (maxSeriesPerHost < maxSeriesPerEnvelope)
    r.problem(
      `TENANT_MAX_SERIES_PER_HOST=${String(maxSeriesPerHost)} is below PROCESSOR_MAX_SERIES_PER_ENVELOPE=${String(maxSeriesPerEnvelope)}: one sample could pass one cap and fail the other`,
    )
  const tenantProblem = topicTenant === undefined ? undefined : tenantNameProblem(topicTenant)
  if (tenantProblem) r.problem(`PROCESSOR_TOPIC_TENANT: ${tenantProblem}`)
  return r.done({
    brokers,
    kafkaSecurity: readKafkaSecurity(r),
    topic,
    topicTenant,
    groupId: r.string('PROCESSOR_GROUP_ID', DEFAULT_GROUP),
    clickhouse: readClickHouseConfig(r, dataDir),
    maxMessagesPerInsert: r.int('PROCESSOR_MAX_MESSAGES_PER_INSERT', 5_000, { min: 1, max: 1_000_000 }),
    ...ttl,
    nats: readNatsClient(r, 'service'),
    maxHostsPerTenant: r.int('TENANT_MAX_HOSTS', 10_000, { min: 1, max: 10_000_000 }),
    maxSeriesPerEnvelope,
    maxSeriesPerHost,
    seriesWindowS: r.int('PROCESSOR_SERIES_WINDOW_S', 3_600, { min: 60, max: 7 * 86_400 }),
    concurrentPartitions: r.int('PROCESSOR_CONCURRENT_PARTITIONS', 3, { min: 1, max: 64 }),
    // Ten seconds: the rollup views then write about 1.4 rows per value instead of 4 (tier-feeder.ts).
    tierBatchMs: r.int('PROCESSOR_TIER_BATCH_MS', 10_000, { min: 100, max: 300_000 }),
    tierMaxMessages: r.int('PROCESSOR_TIER_MAX_MESSAGES', 100_000, { min: 1, max: 10_000_000 }),
    metricsListen: r.listenAddress('PROCESSOR_METRICS_LISTEN', '127.0.0.1:9465'),
    deadLetterTopic: r.string('PROCESSOR_DEAD_LETTER_TOPIC', `${topic}.dead-letters`),
    // Read by the one declaration the ingest gateway reads them with too (schemas/src/admission.ts).
    admission: readAdmissionBounds(r, ttl.rawTtlDays),
    sessionTimeoutMs: r.int('PROCESSOR_SESSION_TIMEOUT_MS', 30_000, { min: 6_000, max: 300_000 }),
    dedupWindow: r.int('CLICKHOUSE_DEDUP_WINDOW', 1_000, { min: 100, max: 100_000 }),
  })
}
