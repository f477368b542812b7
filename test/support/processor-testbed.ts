import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { createClickHouse, createTenantSqlClickHouse } from '#platform/clickhouse.ts'
import { ensureTopics } from '../../deploy/local/kafka.ts'
import { readProcessorConfig, type ProcessorConfig } from '../../stream-processors/src/config.ts'

export interface ProcessorTestbed {
  brokers: string[]
  config: ProcessorConfig
  clickhouse: ClickHouseClient
  /** Tenant SQL's own connection on the same data (platform/clickhouse.ts). */
  sqlClickhouse: ClickHouseClient
  close(): Promise<void>
}

/**
 * What a processor integration test needs: a fresh topic on the suite's broker (KAFKA_BROKERS, from
 * the global setup), its own group, and embedded ClickHouse in a temporary folder with one database.
 */
export async function openProcessorTestbed(
  name: string,
  options: { partitions: number; env?: Record<string, string>; brokers?: string[] },
): Promise<ProcessorTestbed> {
  const brokers = options.brokers ?? (process.env.KAFKA_BROKERS ?? '').split(',')
  const topic = `it-${name}-${String(Date.now())}`
  await ensureTopics(brokers, [{ name: topic, partitions: options.partitions }])
  const dataDir = mkdtempSync(join(tmpdir(), `procstream-it-${name}-`))
  const config = readProcessorConfig(
    {
      KAFKA_TOPIC: topic,
      PROCESSOR_GROUP_ID: `${topic}-group`,
      CLICKHOUSE_DATABASE: name.replace(/[^a-z0-9_]/gi, '_'),
      // Tier batches of two seconds rather than ten: the audits wait for the tiers to catch up.
      PROCESSOR_TIER_BATCH_MS: '2000',
      ...options.env,
    },
    dataDir,
    { brokers },
  )
  const clickhouse = await createClickHouse(config.clickhouse)
  const sqlClickhouse = await createTenantSqlClickHouse(config.clickhouse)
  return {
    brokers,
    config,
    clickhouse,
    sqlClickhouse,
    close: async () => {
      await sqlClickhouse.close()
      await clickhouse.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
