import { ConfigReader, type Env } from '../../platform/config.ts'
import { readClickHouseConfig, type ClickHouseConfig } from '../../platform/clickhouse.ts'

export interface ProcessorConfig {
  brokers: string[]
  topic: string
  groupId: string
  clickhouse: ClickHouseConfig
  /** Most Kafka messages folded into one ClickHouse insert. */
  maxMessagesPerInsert: number
  rawTtlDays: number
  /** How long the broker waits for a silent member (a crashed processor) before giving its partitions away. */
  sessionTimeoutMs: number
  dedupWindow: number
}

export const DEFAULT_TOPIC = 'procstream.samples.v1'
export const DEFAULT_GROUP = 'procstream-processors'

/** Read and validate the processor's settings; `overrides` come from the all-in-one launcher. */
export function readProcessorConfig(
  env: Env,
  dataDir: string,
  overrides: { brokers?: string[] } = {},
): Readonly<ProcessorConfig> {
  const r = new ConfigReader(env)
  const brokers = overrides.brokers ?? r.hostPorts('KAFKA_BROKERS') ?? ['127.0.0.1:9092']
  return r.done({
    brokers,
    topic: r.string('KAFKA_TOPIC', DEFAULT_TOPIC),
    groupId: r.string('PROCESSOR_GROUP_ID', DEFAULT_GROUP),
    clickhouse: readClickHouseConfig(r, dataDir),
    maxMessagesPerInsert: r.int('PROCESSOR_MAX_MESSAGES_PER_INSERT', 5_000, { min: 1, max: 1_000_000 }),
    rawTtlDays: r.int('RAW_TTL_DAYS', 7, { min: 1, max: 3650 }),
    sessionTimeoutMs: r.int('PROCESSOR_SESSION_TIMEOUT_MS', 30_000, { min: 6_000, max: 300_000 }),
    dedupWindow: r.int('CLICKHOUSE_DEDUP_WINDOW', 1_000, { min: 100, max: 100_000 }),
  })
}
