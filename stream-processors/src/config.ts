import { ConfigReader, type Env, type Setting } from '#platform/config.ts'
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

/**
 * The processor's own settings (platform/config.ts); the shared ones (Kafka security, ClickHouse,
 * NATS, retention, admission bounds) are declared where they are read.
 */
export const PROCESSOR_SETTINGS = {
  brokers: {
    env: 'KAFKA_BROKERS',
    type: 'custom',
    default: '127.0.0.1:9092',
    meaning: 'comma-separated host:port of the brokers',
  },
  topic: { env: 'KAFKA_TOPIC', type: 'string', default: SAMPLES_TOPIC, meaning: 'the samples topic' },
  topicTenant: {
    env: 'PROCESSOR_TOPIC_TENANT',
    type: 'string',
    meaning: 'the one tenant allowed on KAFKA_TOPIC',
  },
  groupId: {
    env: 'PROCESSOR_GROUP_ID',
    type: 'string',
    default: 'procstream-processors',
    meaning: 'the consumer group',
  },
  maxMessagesPerInsert: {
    env: 'PROCESSOR_MAX_MESSAGES_PER_INSERT',
    type: 'int',
    default: 5_000,
    min: 1,
    max: 1_000_000,
    meaning: 'Kafka messages folded into one ClickHouse insert',
  },
  maxHostsPerTenant: {
    env: 'TENANT_MAX_HOSTS',
    type: 'int',
    default: 10_000,
    min: 1,
    max: 10_000_000,
    meaning: 'hosts per tenant',
  },
  // A 256-CPU host's cpu family is ~2,600 series; far more in one sample is a cardinality bomb.
  maxSeriesPerEnvelope: {
    env: 'PROCESSOR_MAX_SERIES_PER_ENVELOPE',
    type: 'int',
    default: 20_000,
    min: 100,
    max: 10_000_000,
    meaning: 'series in one sample beyond which it is dead-lettered',
  },
  // node_exporter on a large host is a few thousand series; 50,000 leaves room for many devices
  // while stopping a host that mints a new label value every sample.
  maxSeriesPerHost: {
    env: 'TENANT_MAX_SERIES_PER_HOST',
    type: 'int',
    default: 50_000,
    min: 100,
    max: 10_000_000,
    meaning: 'series one host may have with a point in the last PROCESSOR_SERIES_WINDOW_S',
  },
  seriesWindowS: {
    env: 'PROCESSOR_SERIES_WINDOW_S',
    type: 'int',
    default: 3_600,
    min: 60,
    max: 7 * 86_400,
    meaning: 'the window of sample time the per-host series count covers',
  },
  concurrentPartitions: {
    env: 'PROCESSOR_CONCURRENT_PARTITIONS',
    type: 'int',
    default: 3,
    min: 1,
    max: 64,
    meaning: 'partitions one member decodes and inserts at once',
  },
  // Ten seconds: the rollup views then write about 1.4 rows per value instead of 4 (tier-feeder.ts).
  tierBatchMs: {
    env: 'PROCESSOR_TIER_BATCH_MS',
    type: 'int',
    default: 10_000,
    min: 100,
    max: 300_000,
    meaning: "how much of the stream one batch of the rollup tiers' feed holds",
  },
  tierMaxMessages: {
    env: 'PROCESSOR_TIER_MAX_MESSAGES',
    type: 'int',
    default: 100_000,
    min: 1,
    max: 10_000_000,
    meaning: 'a tier batch closes at this many Kafka messages',
  },
  metricsListen: {
    env: 'PROCESSOR_METRICS_LISTEN',
    type: 'custom',
    default: '127.0.0.1:9465',
    meaning: 'where /metrics is served (host:port, or off)',
  },
  deadLetterTopic: {
    env: 'PROCESSOR_DEAD_LETTER_TOPIC',
    // Default: `<topic>.dead-letters`, computed from the topic in force.
    type: 'string',
    meaning: 'where refused payloads go',
  },
  sessionTimeoutMs: {
    env: 'PROCESSOR_SESSION_TIMEOUT_MS',
    type: 'int',
    default: 30_000,
    min: 6_000,
    max: 300_000,
    meaning: 'how long the broker waits for a silent member',
  },
  dedupWindow: {
    env: 'CLICKHOUSE_DEDUP_WINDOW',
    type: 'int',
    default: 1_000,
    min: 100,
    max: 100_000,
    meaning: 'insert tokens each table remembers for deduplication',
  },
} as const satisfies Record<string, Setting>

const S = PROCESSOR_SETTINGS

export const DEFAULT_GROUP = S.groupId.default

/** Read and validate the processor's settings; `overrides` come from the all-in-one launcher. */
export function readProcessorConfig(
  env: Env,
  dataDir: string,
  overrides: { brokers?: string[] } = {},
): Readonly<ProcessorConfig> {
  const r = new ConfigReader(env)
  const brokers = overrides.brokers ?? r.hostPorts(S.brokers.env) ?? [S.brokers.default]
  const ttl = readRetention(r)
  const topic = r.string(S.topic)
  const topicTenant = r.string(S.topicTenant)
  const maxSeriesPerEnvelope = r.int(S.maxSeriesPerEnvelope)
  const maxSeriesPerHost = r.int(S.maxSeriesPerHost)
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
    groupId: r.string(S.groupId),
    clickhouse: readClickHouseConfig(r, dataDir),
    maxMessagesPerInsert: r.int(S.maxMessagesPerInsert),
    ...ttl,
    nats: readNatsClient(r, 'service'),
    maxHostsPerTenant: r.int(S.maxHostsPerTenant),
    maxSeriesPerEnvelope,
    maxSeriesPerHost,
    seriesWindowS: r.int(S.seriesWindowS),
    concurrentPartitions: r.int(S.concurrentPartitions),
    tierBatchMs: r.int(S.tierBatchMs),
    tierMaxMessages: r.int(S.tierMaxMessages),
    metricsListen: r.listenAddress(S.metricsListen.env, S.metricsListen.default),
    deadLetterTopic: r.string(S.deadLetterTopic.env, `${topic}.dead-letters`),
    // Read by the one declaration the ingest gateway reads them with too (schemas/src/admission.ts).
    admission: readAdmissionBounds(r, ttl.rawTtlDays),
    sessionTimeoutMs: r.int(S.sessionTimeoutMs),
    dedupWindow: r.int(S.dedupWindow),
  })
}
