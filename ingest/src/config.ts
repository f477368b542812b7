import { CompressionTypes } from 'kafkajs'
import { readClickHouseConfig, type ClickHouseConfig } from '#platform/clickhouse.ts'
import { readKeysRefreshMs } from '#platform/auth/authenticator.ts'
import { ConfigReader, type Env, type Setting } from '#platform/config.ts'
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

/**
 * The gateway's own settings (platform/config.ts); the shared ones (Kafka security, ClickHouse,
 * NATS, TLS, keys refresh, admission bounds) are declared where they are read.
 */
export const INGEST_SETTINGS = {
  host: { env: 'INGEST_HOST', type: 'string', default: '127.0.0.1', meaning: "the gateway's listen address" },
  port: { env: 'INGEST_PORT', type: 'port', default: 8081, meaning: "the gateway's port" },
  brokers: {
    env: 'KAFKA_BROKERS',
    type: 'custom',
    default: '127.0.0.1:9092',
    meaning: 'comma-separated host:port of the brokers',
  },
  topic: { env: 'KAFKA_TOPIC', type: 'string', default: SAMPLES_TOPIC, meaning: 'the samples topic' },
  maxBodyBytes: {
    env: 'INGEST_MAX_BODY_BYTES',
    type: 'int',
    default: 4 * 1024 * 1024,
    min: 1024,
    max: 256 * 1024 * 1024,
    meaning: 'largest request body as sent',
  },
  maxDecodedBytes: {
    env: 'INGEST_MAX_DECODED_BYTES',
    type: 'int',
    default: 16 * 1024 * 1024,
    // And at least INGEST_MAX_BODY_BYTES, checked when read.
    max: 1024 * 1024 * 1024,
    meaning: 'largest body once decompressed',
  },
  maxQueuedBytes: {
    env: 'INGEST_MAX_QUEUED_BYTES',
    type: 'int',
    default: 128 * 1024 * 1024,
    min: 1024 * 1024,
    meaning: 'accepted bytes waiting for Kafka beyond which requests get 503',
  },
  maxConcurrentRequests: {
    env: 'INGEST_MAX_CONCURRENT_REQUESTS',
    type: 'int',
    default: 16,
    min: 1,
    max: 4096,
    meaning: 'ingest requests read and decoded at once',
  },
  requestTimeoutMs: {
    env: 'INGEST_REQUEST_TIMEOUT_MS',
    type: 'int',
    default: 30_000,
    min: 1000,
    max: 600_000,
    meaning: 'how long a request may take to arrive whole',
  },
  kafkaProducers: {
    env: 'INGEST_KAFKA_PRODUCERS',
    type: 'int',
    default: 4,
    min: 1,
    max: 32,
    meaning: 'idempotent producers sending in parallel',
  },
  kafkaCompression: {
    env: 'INGEST_KAFKA_COMPRESSION',
    type: 'oneOf',
    values: ['gzip', 'none'],
    default: 'gzip',
    meaning: 'compression of the Kafka messages',
  },
  requestsPerS: {
    env: 'INGEST_TENANT_REQUESTS_PER_S',
    type: 'int',
    default: 20_000,
    min: 1,
    meaning: 'ingest requests per second per tenant',
  },
  recordsPerS: {
    env: 'INGEST_TENANT_RECORDS_PER_S',
    type: 'int',
    default: 1_000_000,
    min: 1,
    meaning: 'records per second per tenant',
  },
  burstS: {
    env: 'INGEST_TENANT_BURST_S',
    type: 'int',
    default: 2,
    min: 1,
    max: 3600,
    meaning: 'burst, as seconds of those rates',
  },
  // At most 55 s: proxies and load balancers commonly drop a connection idle for 60 s.
  controlWaitMs: {
    env: 'INGEST_CONTROL_WAIT_MS',
    type: 'int',
    default: 25_000,
    min: 1000,
    max: 55_000,
    meaning: 'how long a control poll waits for a request',
  },
  controlReplyWaitMs: {
    env: 'INGEST_CONTROL_REPLY_WAIT_MS',
    type: 'int',
    default: 15_000,
    min: 1000,
    max: 300_000,
    meaning: 'how long a request handed to an agent waits for its reply',
  },
  controlMaxPolls: {
    env: 'INGEST_CONTROL_MAX_POLLS',
    type: 'int',
    default: 20_000,
    min: 1,
    max: 1_000_000,
    meaning: 'control polls held at once, all tenants together',
  },
  controlTenantMaxPolls: {
    env: 'INGEST_CONTROL_TENANT_MAX_POLLS',
    type: 'int',
    default: 5_000,
    min: 1,
    max: 1_000_000,
    meaning: 'control polls held at once for one tenant',
  },
} as const satisfies Record<string, Setting>

const S = INGEST_SETTINGS

export function readIngestConfig(
  env: Env,
  dataDir: string,
  overrides: { brokers?: string[] } = {},
): Readonly<IngestConfig> {
  const r = new ConfigReader(env)
  const maxBodyBytes = r.int(S.maxBodyBytes)
  return r.done({
    host: r.string(S.host),
    port: r.port(S.port),
    brokers: overrides.brokers ?? r.hostPorts(S.brokers.env) ?? [S.brokers.default],
    kafkaSecurity: readKafkaSecurity(r),
    topic: r.string(S.topic),
    clickhouse: readClickHouseConfig(r, dataDir),
    maxBodyBytes,
    maxDecodedBytes: r.int({ ...S.maxDecodedBytes, min: maxBodyBytes }),
    // Under the broker's default message.max.bytes (1 MB) with room for the batch headers.
    maxMessageBytes: MAX_RECORD_BYTES,
    admission: readAdmissionBounds(r, readRawTtlDays(r)),
    maxQueuedBytes: r.int(S.maxQueuedBytes),
    maxConcurrentRequests: r.int(S.maxConcurrentRequests),
    requestTimeoutMs: r.int(S.requestTimeoutMs),
    kafkaProducers: r.int(S.kafkaProducers),
    kafkaCompression: COMPRESSION[r.oneOf(S.kafkaCompression)],
    limits: {
      requestsPerS: r.int(S.requestsPerS),
      recordsPerS: r.int(S.recordsPerS),
      burstS: r.int(S.burstS),
    },
    keysRefreshMs: readKeysRefreshMs(r),
    tls: readTlsFiles(r),
    nats: readNatsClient(r, 'service'),
    control: {
      waitMs: r.int(S.controlWaitMs),
      replyWaitMs: r.int(S.controlReplyWaitMs),
      maxPolls: r.int(S.controlMaxPolls),
      tenantMaxPolls: r.int(S.controlTenantMaxPolls),
    },
  })
}
