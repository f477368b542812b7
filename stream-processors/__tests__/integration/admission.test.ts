/**
 * What a processor refuses and what it drops, through a real broker and embedded ClickHouse: garbage,
 * an envelope under another tenant's key, a sample from long ago, a NaN go to the dead-letter topic
 * with their reason; an agent's resend of envelopes already stored is dropped; the rest is stored
 * exactly once under the key's tenant, published on the host's live subject, and the partition moves on.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Envelope } from '#schemas/src/families.ts'
import type { ProcessorConfig } from '../../src/config.ts'
import { DEAD_LETTER_HEADERS } from '../../src/dead-letters.ts'
import { liveSubject, type LiveMessage } from '#schemas/src/live.ts'
import { processorMetricsText } from '../../src/metrics.ts'
import { startProcessor } from '../../src/service.ts'
import { openProcessorTestbed, type ProcessorTestbed } from '#test/support/processor-testbed.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { waitFor } from '#test/support/wait-for.ts'
import { connectService } from '#test/support/nats.ts'

const logger = createLogger('it-admission', { level: 'error' })
const codec = envelopeCodec()

let bed: ProcessorTestbed
let config: ProcessorConfig
let clickhouse: ClickHouseClient
let kafka: Kafka

const envelope = (seq: number, over: Partial<Envelope> = {}, load1 = 0.5): Envelope =>
  loadEnvelope({ seq, ts_us: Date.now() * 1000, ...over }, load1)

const wideVmstat = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`field_${String(i)}`, i]))

const encodeAll = (envs: Envelope[]): Buffer => Buffer.concat(envs.map((e) => codec.encode(e)))

beforeAll(async () => {
  bed = await openProcessorTestbed('admission', {
    partitions: 1,
    // Low guards, so the test can cross them: one host per tenant, 100 series per sample and per host.
    env: {
      TENANT_MAX_HOSTS: '1',
      PROCESSOR_MAX_SERIES_PER_ENVELOPE: '100',
      TENANT_MAX_SERIES_PER_HOST: '100',
    },
  })
  ;({ config, clickhouse } = bed)
  kafka = createKafka(bed.brokers, 'it-admission', logger)
})

afterAll(() => bed.close())

describe('processor admission', () => {
  it('dead-letters what it cannot store with a reason, drops resends, stores the rest once', async () => {
    const producer = kafka.producer()
    await producer.connect()
    const key = 'acme/web-1'
    await producer.send({
      topic: config.topic,
      messages: [
        { key, value: encodeAll([envelope(0), envelope(1), envelope(2)]) },
        { key, value: Buffer.from('not avro at all') },
        // Claims another tenant than its key: refused, the rest of its message stored.
        { key, value: encodeAll([envelope(3), envelope(99, { tenant: 'globex' })]) },
        { key, value: encodeAll([envelope(4, { ts_us: (Date.now() - 30 * 86_400_000) * 1000 })]) },
        { key, value: encodeAll([envelope(5, {}, Number.NaN)]) },
        // The agent was killed mid-request and resent 1–3 under a new producer id, then went on.
        { key, value: encodeAll([envelope(1), envelope(2), envelope(3), envelope(6)]) },
        // A second host for a tenant allowed one; a sample with 150 series where 100 are allowed.
        { key: 'acme/web-2', value: encodeAll([envelope(0, { host_id: 'web-2', agent_id: 'agent-b' })]) },
        {
          key,
          value: encodeAll([{ ...envelope(7), sample: { family: 'vmstat', data: { fields: wideVmstat } } }]),
        },
      ],
    })
    await producer.disconnect()

    // The live path: what was stored is published per host once the insert succeeded.
    const nc = await connectService('it-admission')
    const live: LiveMessage[] = []
    const sub = nc.subscribe(liveSubject('acme', 'web-1'))
    void (async () => {
      for await (const m of sub) live.push(JSON.parse(new TextDecoder().decode(m.data)) as LiveMessage)
    })()
    const processor = await startProcessor({ config, kafka, clickhouse, logger, nats: nc })
    try {
      const rejected = (): number => Object.values(processor.stats.rejected).reduce((a, b) => a + b, 0)
      await waitFor('the topic to be consumed and stored', () =>
        Promise.resolve(processor.stats.inserts > 0 && rejected() >= 6 ? true : undefined),
      )
      const rs = await clickhouse.query({
        query: 'SELECT tenant, seq FROM admission.sample_log ORDER BY seq',
        format: 'JSONEachRow',
      })
      const stored = await rs.json<{ tenant: string; seq: string }>()
      expect(stored.map((r) => Number(r.seq))).toEqual([0, 1, 2, 3, 6])
      expect(new Set(stored.map((r) => r.tenant))).toEqual(new Set(['acme']))
      expect(processor.stats.duplicateEnvelopes).toBe(3)
      expect(processor.stats.rejected).toEqual({
        NOT_SINGLE_OBJECT: 1,
        KEY_MISMATCH: 1,
        TIMESTAMP_OUT_OF_BOUNDS: 1,
        NON_FINITE_VALUE: 1,
        TENANT_HOST_LIMIT: 1,
        TOO_MANY_SERIES: 1,
      })
      await waitFor('the stored points on NATS', () => Promise.resolve(live.length > 0 ? true : undefined))
      const points = live.flatMap((m) => m.points)
      expect(points).toHaveLength(5 * 3) // five stored load envelopes, three series each
      expect(new Set(points.map(([metric]) => metric))).toEqual(
        new Set(['node_load1', 'node_load5', 'node_load15']),
      )
      expect(live[0]).toMatchObject({ tenant: 'acme', host: 'web-1' })

      // Its health for Prometheus: counters by reason, and the group's lag from the broker.
      const text = await processorMetricsText(processor)
      expect(text).toContain('procstream_processor_dead_letters_total{reason="KEY_MISMATCH"} 1\n')
      expect(text).toContain('procstream_processor_duplicate_envelopes_total 3\n')
      expect(text).toContain('# TYPE procstream_processor_consumer_lag_messages gauge\n')
      // Every stored envelope's age at insert, once.
      expect(text).toContain('# TYPE procstream_processor_freshness_seconds histogram\n')
      expect(text).toContain('procstream_processor_freshness_seconds_count 5\n')
      await waitFor('the lag to reach zero', async () =>
        /^procstream_processor_consumer_lag_messages\{partition="0"\} 0$/m.test(
          await processorMetricsText(processor),
        )
          ? true
          : undefined,
      )
    } finally {
      await processor.stop()
      await nc.drain()
    }

    // The dead letters, each with its reason and where it came from.
    const consumer = kafka.consumer({ groupId: `${config.topic}-dlq-reader` })
    await consumer.connect()
    await consumer.subscribe({ topic: config.deadLetterTopic, fromBeginning: true })
    const letters: { reason: string; offset: string; value: Buffer }[] = []
    await consumer.run({
      eachMessage: ({ message }) => {
        const h = message.headers ?? {}
        letters.push({
          reason: String(h[DEAD_LETTER_HEADERS.reason]),
          offset: String(h[DEAD_LETTER_HEADERS.offset]),
          value: message.value ?? Buffer.alloc(0),
        })
        return Promise.resolve()
      },
    })
    await waitFor('six dead letters', () => Promise.resolve(letters.length >= 6 ? true : undefined))
    await consumer.disconnect()
    expect(letters.map((l) => [l.reason, l.offset])).toEqual([
      ['NOT_SINGLE_OBJECT', '1'],
      ['KEY_MISMATCH', '2'],
      ['TIMESTAMP_OUT_OF_BOUNDS', '3'],
      ['NON_FINITE_VALUE', '4'],
      ['TENANT_HOST_LIMIT', '6'],
      ['TOO_MANY_SERIES', '7'],
    ])
    expect(letters[0]?.value.toString()).toBe('not avro at all')
    expect(codec.decodeAll(letters[1]?.value ?? Buffer.alloc(0))[0]).toMatchObject({
      tenant: 'globex',
      seq: 99,
    })
  })

  it('refuses a host that keeps minting new series, across a processor restart', async () => {
    const vmstat = (seq: number, prefix: string): Envelope => ({
      ...envelope(seq, { tenant: 'initech', host_id: 'db-1', hostname: 'db-1', agent_id: 'agent-i' }),
      sample: {
        family: 'vmstat',
        data: {
          fields: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`${prefix}_${String(i)}`, i])),
        },
      },
    })
    const run = async (envs: Envelope[]): Promise<Partial<Record<string, number>>> => {
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({
        topic: config.topic,
        messages: envs.map((e) => ({ key: 'initech/db-1', value: codec.encode(e) })),
      })
      await producer.disconnect()
      const processor = await startProcessor({ config, kafka, clickhouse, logger })
      try {
        await waitFor('the chunk handled', () =>
          Promise.resolve(processor.stats.messages >= envs.length ? true : undefined),
        )
        await waitFor('its commit', async () =>
          /^procstream_processor_consumer_lag_messages\{partition="0"\} 0$/m.test(
            await processorMetricsText(processor),
          )
            ? true
            : undefined,
        )
        return processor.stats.rejected
      } finally {
        await processor.stop()
      }
    }
    // 60 series, then 60 new ones (past 100): refused; the first 60 again: stored.
    expect(await run([vmstat(0, 'a'), vmstat(1, 'b'), vmstat(2, 'a')])).toEqual({ HOST_SERIES_LIMIT: 1 })
    // A new processor knows nothing until it reads ClickHouse, and refuses the newcomers all the same.
    expect(await run([vmstat(3, 'b'), vmstat(4, 'a')])).toEqual({ HOST_SERIES_LIMIT: 1 })
    const rs = await clickhouse.query({
      query: "SELECT seq FROM admission.sample_log WHERE tenant = 'initech' ORDER BY seq",
      format: 'JSONEachRow',
    })
    expect((await rs.json<{ seq: string }>()).map((r) => Number(r.seq))).toEqual([0, 2, 4])
  })
})
