import { CompressionTypes } from 'kafkajs'
import { readClickHouseConfig, type ClickHouseConfig } from '#platform/clickhouse.ts'
import { readKeysRefreshMs } from '#platform/auth/authenticator.ts'
import { ConfigReader, type Env } from '#platform/config.ts'
import { SAMPLES_TOPIC } from '#schemas/src/kafka-topic.ts'
import { readKafkaSecurity, type KafkaSecurity } from '#platform/kafka-security.ts'
import { readTlsFiles, type TlsFiles } from '#platform/tls.ts'
import { readNatsClient, type NatsClientConfig } from '#platform/nats-client.ts'
import type { RateLimits } from '#platform/rate-limit.ts'
import {
  MAX_RECORD_BYTES,
  readAdmissionBounds,
  readRawTtlDays,
  type AdmissionBounds,
} from '#schemas/src/admission.ts'

export interface IngestConfig {
  host: string
  port: number
  brokers: string[]
  kafkaSecurity: KafkaSecurity
  topic: string
  /** Where the API keys are read from: the installation's ClickHouse. */
  clickhouse: ClickHouseConfig
  /** Largest body accepted as sent (compressed or not). */
  maxBodyBytes: number
  /** Largest body once decompressed. */
  maxDecodedBytes: number
  /** Records of one host are packed into Kafka messages of at most this size. */
  maxMessageBytes: number
  /**
   * The sample age and lead the processor accepts (PROCESSOR_MAX_SAMPLE_AGE_S, _LEAD_S, read the same
   * way): a record outside them is refused at the door rather than answered 202 and dead-lettered.
   */
  admission: AdmissionBounds
  /** Requests whose records wait for Kafka beyond this many bytes are refused with 503. */
  maxQueuedBytes: number
  /** Ingest requests read and decoded at once; more get 503 GATEWAY_BUSY before their body is read. */
  maxConcurrentRequests: number
  /** The longest a request may take to arrive whole (slow senders are cut off). */
  requestTimeoutMs: number
  /** Idempotent producers sending in parallel (each with one request in flight). */
  kafkaProducers: number
  kafkaCompression: CompressionTypes
  limits: RateLimits
  keysRefreshMs: number
  tls: TlsFiles | undefined
  /**
   * The service credential: live control through the gateway subscribes to control subjects of
   * whichever tenant a key belongs to. Undefined: no control through this gateway (503).
   */
  nats: NatsClientConfig | undefined
  control: ControlLimits
}

export interface ControlLimits {
  /** How long a poll waits for a request before answering 204. */
  waitMs: number
  /** How long a request handed to an agent waits for its reply before it is forgotten. */
  replyWaitMs: number
  /** Polls held at once, all tenants together; unanswered requests are bounded by the same number. */
  maxPolls: number
  /** Polls held at once for one tenant; its unanswered requests are bounded by the same number. */
  tenantMaxPolls: number
}

// kafkajs ships gzip only; snappy, lz4 and zstd need codec packages it does not bundle.
const COMPRESSION = { gzip: CompressionTypes.GZIP, none: CompressionTypes.None } as const

export function readIngestConfig(
  env: Env,
  dataDir: string,
  overrides: { brokers?: string[] } = {},
): Readonly<IngestConfig> {
  const r = new ConfigReader(env)
  const maxBodyBytes = r.int('INGEST_MAX_BODY_BYTES', 4 * 1024 * 1024, { min: 1024, max: 256 * 1024 * 1024 })
  return r.done({
    host: r.string('INGEST_HOST', '127.0.0.1'),
    port: r.port('INGEST_PORT', 8081),
    brokers: overrides.brokers ?? r.hostPorts('KAFKA_BROKERS') ?? ['127.0.0.1:9092'],
    kafkaSecurity: readKafkaSecurity(r),
    topic: r.string('KAFKA_TOPIC', SAMPLES_TOPIC),
    clickhouse: readClickHouseConfig(r, dataDir),
    maxBodyBytes,
    maxDecodedBytes: r.int('INGEST_MAX_DECODED_BYTES', 16 * 1024 * 1024, {
      min: maxBodyBytes,
      max: 1024 * 1024 * 1024,
    }),
    // Under the broker's default message.max.bytes (1 MB) with room for the batch headers.
    maxMessageBytes: MAX_RECORD_BYTES,
    admission: readAdmissionBounds(r, readRawTtlDays(r)),
    maxQueuedBytes: r.int('INGEST_MAX_QUEUED_BYTES', 128 * 1024 * 1024, { min: 1024 * 1024 }),
    maxConcurrentRequests: r.int('INGEST_MAX_CONCURRENT_REQUESTS', 16, { min: 1, max: 4096 }),
    requestTimeoutMs: r.int('INGEST_REQUEST_TIMEOUT_MS', 30_000, { min: 1000, max: 600_000 }),
    kafkaProducers: r.int('INGEST_KAFKA_PRODUCERS', 4, { min: 1, max: 32 }),
    kafkaCompression: COMPRESSION[r.oneOf('INGEST_KAFKA_COMPRESSION', ['gzip', 'none'], 'gzip')],
    limits: {
      requestsPerS: r.int('INGEST_TENANT_REQUESTS_PER_S', 20_000, { min: 1 }),
      recordsPerS: r.int('INGEST_TENANT_RECORDS_PER_S', 1_000_000, { min: 1 }),
      burstS: r.int('INGEST_TENANT_BURST_S', 2, { min: 1, max: 3600 }),
    },
    keysRefreshMs: readKeysRefreshMs(r),
    tls: readTlsFiles(r),
    nats: readNatsClient(r, 'service'),
    control: {
      // At most 55 s: proxies and load balancers commonly drop a connection idle for 60 s.
      waitMs: r.int('INGEST_CONTROL_WAIT_MS', 25_000, { min: 1000, max: 55_000 }),
      replyWaitMs: r.int('INGEST_CONTROL_REPLY_WAIT_MS', 15_000, { min: 1000, max: 300_000 }),
      maxPolls: r.int('INGEST_CONTROL_MAX_POLLS', 20_000, { min: 1, max: 1_000_000 }),
      tenantMaxPolls: r.int('INGEST_CONTROL_TENANT_MAX_POLLS', 5_000, { min: 1, max: 1_000_000 }),
    },
  })
}
