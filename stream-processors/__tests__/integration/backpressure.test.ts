/**
 * ClickHouse refusing inserts mid-stream: the sample log is detached while a fleet keeps producing, so
 * every chunk's first inserts (series, points) succeed and its last fails. The processor must retry
 * with back-off, commit nothing past the failing chunk (its lag grows), and once the table is back,
 * store everything exactly once: raw rows, the sample log and every rollup agree.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka } from '#platform/kafka.ts'
import { sampleKey } from '#schemas/src/kafka-topic.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { ProcessorConfig } from '../../src/config.ts'
import { startProcessor } from '../../src/service.ts'
import { openProcessorTestbed, type ProcessorTestbed } from '#test/support/processor-testbed.ts'
import { waitFor } from '#test/support/wait-for.ts'

const logger = createLogger('it-backpressure', { level: 'fatal' })
const codec = envelopeCodec()
const HOSTS = 5

let bed: ProcessorTestbed
let config: ProcessorConfig
let clickhouse: ClickHouseClient
let kafka: Kafka

beforeAll(async () => {
  bed = await openProcessorTestbed('backpressure', {
    partitions: 1,
    env: { PROCESSOR_MAX_MESSAGES_PER_INSERT: '10', PROCESSOR_METRICS_LISTEN: 'off' },
  })
  ;({ config, clickhouse } = bed)
  kafka = createKafka(bed.brokers, 'it-backpressure', logger)
})

afterAll(() => bed.close())

async function count(query: string): Promise<number> {
  const rs = await clickhouse.query({ query, format: 'JSONEachRow' })
  const [row] = await rs.json<{ n: string }>()
  return Number(row?.n)
}

describe('ClickHouse refusing inserts', () => {
  it('pauses the partition, retries, and stores everything once when ClickHouse is back', async () => {
    const producer = kafka.producer()
    await producer.connect()
    let seq = 0
    const produce = async (rounds: number): Promise<void> => {
      for (let r = 0; r < rounds; r++, seq++) {
        await producer.send({
          topic: config.topic,
          messages: Array.from({ length: HOSTS }, (_, h) => ({
            key: sampleKey('acme', `h${String(h)}`),
            value: codec.encode({
              tenant: 'acme',
              host_id: `h${String(h)}`,
              hostname: '',
              agent_id: `a${String(h)}`,
              seq,
              ts_us: (Date.now() - 60_000 + seq * 100) * 1000,
              interval_ms: 100,
              sample: {
                family: 'load',
                data: { load1: seq, load5: 1, load15: 2, threads_running: 1, threads_total: 9, last_pid: h },
              },
            }),
          })),
        })
      }
    }
    const processor = await startProcessor({ config, kafka, clickhouse, logger })
    try {
      await produce(20)
      await waitFor('the first envelopes stored', async () =>
        (await count('SELECT count() AS n FROM backpressure.sample_log')) >= 20 * HOSTS ? true : undefined,
      )

      await clickhouse.command({ query: 'DETACH TABLE backpressure.sample_log' })
      await produce(40)
      await waitFor('inserts to fail and be retried', () =>
        Promise.resolve(processor.stats.insertFailures >= 3 ? true : undefined),
      )
      const stuck = (await processor.lag()).reduce((a, p) => a + p.messages, 0)
      expect(stuck).toBeGreaterThan(0) // nothing past the failing chunk is committed
      await new Promise((r) => setTimeout(r, 1_500))
      expect((await processor.lag()).reduce((a, p) => a + p.messages, 0)).toBeGreaterThanOrEqual(stuck)

      await clickhouse.command({ query: 'ATTACH TABLE backpressure.sample_log' })
      await waitFor('the backlog to drain', async () =>
        (await processor.lag()).every((p) => p.messages === 0) ? true : undefined,
      )
      await waitFor('the tier feed to catch up', async () =>
        ((await processor.tiers?.lag()) ?? []).every((p) => p.messages === 0) ? true : undefined,
      )
    } finally {
      await processor.stop()
      await producer.disconnect()
    }
    const sent = seq * HOSTS
    expect(await count('SELECT count() AS n FROM backpressure.sample_log')).toBe(sent)
    expect(await count('SELECT uniqExact(agent_id, seq) AS n FROM backpressure.sample_log')).toBe(sent)
    expect(await count('SELECT count() AS n FROM backpressure.points')).toBe(sent * 3)
    for (const tier of ['points_10s', 'points_1m', 'points_1h'])
      expect(await count(`SELECT sum(value_count) AS n FROM backpressure.${tier}`), tier).toBe(sent * 3)
  })
})
