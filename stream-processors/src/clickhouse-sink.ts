import type { ClickHouseClient } from '@clickhouse/client'
import { ProcessorError } from './errors.ts'
import type { RowBatch } from './rows.ts'

/**
 * Writes one chunk of Kafka messages to ClickHouse. Every table gets the same deduplication token,
 * derived from the exact offset range, so a replay of the range (after a crash, a failed commit or a
 * rebalance) is dropped by each table on its own, even if the first attempt died between two tables.
 */
export class ClickHouseSink {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  async write(batch: RowBatch, token: string): Promise<void> {
    const settings = { insert_deduplication_token: token, insert_deduplicate: 1 as const }
    try {
      if (batch.raw.length > 0) {
        await this.client.insert({
          table: `${this.database}.metrics_raw`,
          values: batch.raw,
          format: 'JSONCompactEachRow',
          clickhouse_settings: settings,
        })
      }
      // The sample log goes last: a row there means the whole envelope was stored.
      if (batch.log.length > 0) {
        await this.client.insert({
          table: `${this.database}.sample_log`,
          values: batch.log,
          format: 'JSONCompactEachRow',
          clickhouse_settings: settings,
        })
      }
    } catch (err) {
      throw new ProcessorError('CLICKHOUSE_INSERT', `insert of chunk ${token} failed: ${String(err)}`, {
        retryable: true,
        cause: err,
      })
    }
  }
}
