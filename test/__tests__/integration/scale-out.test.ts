/**
 * Scale-out: two processor members share the partitions of one group while a simulated fleet streams;
 * one joins and the other leaves mid-stream (two rebalances with chunks in flight). Both members run in
 * this process against one embedded ClickHouse (chdb opens a data folder from one process only; two
 * OS processes need a ClickHouse server, see deploy/). Afterwards every (agent, seq) is stored once.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka, sampleKey } from '../../../platform/kafka.ts'
import { createLogger } from '../../../platform/logger.ts'
import { envelopeCodec } from '../../../schemas/src/codec.ts'
import type { ProcessorConfig } from '../../../stream-processors/src/config.ts'
import { startProcessor } from '../../../stream-processors/src/service.ts'
import { openProcessorTestbed, type ProcessorTestbed } from '../../support/processor-testbed.ts'
import { waitFor } from '../../support/wait-for.ts'

const logger = createLogger('it-scale-out', { level: 'error' })
const HOSTS = 24

let bed: ProcessorTestbed
let config: ProcessorConfig
let clickhouse: ClickHouseClient
let brokers: string[]

beforeAll(async () => {
  bed = await openProcessorTestbed('scale', {
    partitions: 6,
    // Small chunks, so rebalances land between intents, inserts and commits.
    env: { PROCESSOR_MAX_MESSAGES_PER_INSERT: '4', PROCESSOR_SESSION_TIMEOUT_MS: '6000' },
  })
  ;({ config, clickhouse, brokers } = bed)
})

afterAll(() => bed.close())

/** A fleet of HOSTS agents, each sending one load envelope per tick under its own key, until stopped. */
function streamFleet(topic: string): { stop: () => Promise<number> } {
  const codec = envelopeCodec()
  const producer = createKafka(brokers, 'it-scale-fleet', logger).producer({
    idempotent: true,
    maxInFlightRequests: 1,
  })
  const state = { running: true }
  let sent = 0
  const done = (async () => {
    await producer.connect()
    for (let seq = 0; state.running; seq++) {
      const messages = Array.from({ length: HOSTS }, (_, h) => {
        const host = `host-${String(h)}`
        return {
          key: sampleKey('acme', host),
          value: codec.encode({
            tenant: 'acme',
            host_id: host,
            hostname: host,
            agent_id: `agent-${String(h)}`,
            seq,
            ts_us: Date.now() * 1000,
            interval_ms: 100,
            sample: {
              family: 'load',
              data: { load1: seq, load5: 0, load15: 0, threads_running: 1, threads_total: 9, last_pid: h },
            },
          }),
        }
      })
      await producer.send({ topic, acks: -1, messages })
      sent += messages.length
      await new Promise((r) => setTimeout(r, 100))
    }
    await producer.disconnect()
  })()
  return {
    stop: async () => {
      state.running = false
      await done
      return sent
    },
  }
}

describe('two processor members', () => {
  it('share the partitions and lose or repeat nothing across a join and a leave', async () => {
    const fleet = streamFleet(config.topic)
    const kafka = createKafka(brokers, 'it-scale-out', logger)
    const a = await startProcessor({ config, kafka, clickhouse, logger })
    await new Promise((r) => setTimeout(r, 3_000))
    const b = await startProcessor({ config, kafka, clickhouse, logger })
    await waitFor('the second member to get partitions', () =>
      Promise.resolve(b.stats.messages > 0 ? true : undefined),
    )
    const aBefore = a.stats.messages
    await new Promise((r) => setTimeout(r, 2_000))
    expect(a.stats.messages).toBeGreaterThan(aBefore) // both members consume at the same time
    await a.stop()
    await new Promise((r) => setTimeout(r, 3_000))
    const sent = await fleet.stop()
    expect(sent).toBeGreaterThan(HOSTS * 50)
    try {
      await waitFor('every envelope stored', async () => {
        const rs = await clickhouse.query({
          query: 'SELECT count() AS n FROM scale.sample_log',
          format: 'JSONEachRow',
        })
        const [row] = await rs.json<{ n: string }>()
        return Number(row?.n) >= sent ? true : undefined
      })
      await new Promise((r) => setTimeout(r, 1_000)) // a late duplicate would land by now
      const rs = await clickhouse.query({
        query: `SELECT count() AS n, uniqExact(agent_id, seq) AS uniq,
                       countIf(seq = 0) AS firsts, (SELECT count() FROM scale.metrics_raw) AS raw
                FROM scale.sample_log`,
        format: 'JSONEachRow',
      })
      const [row] = await rs.json<{ n: string; uniq: string; firsts: string; raw: string }>()
      expect(Number(row?.n)).toBe(sent)
      expect(Number(row?.uniq)).toBe(sent)
      expect(Number(row?.firsts)).toBe(HOSTS)
      expect(Number(row?.raw)).toBe(sent * 3) // load1, load5, load15 per envelope
    } finally {
      await b.stop()
    }
  })
})
