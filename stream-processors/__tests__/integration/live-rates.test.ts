/**
 * Counters turned into per-second rates on the live path, through a real broker, NATS and embedded
 * ClickHouse: a processor rates a host's network counters from its second sample on; a new member
 * (state lost, as after a rebalance) rebuilds the host's latest values from ClickHouse and rates the
 * very next sample, reset included.
 */
import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Envelope } from '#schemas/src/families.ts'
import { zeroNetDevCounters } from '#test/support/components/agent.ts'
import { LivePublisher } from '../../src/live-publisher.ts'
import { liveSubject, type LiveMessage } from '#schemas/src/live.ts'
import { processorMetricsText } from '../../src/metrics.ts'
import { startProcessor } from '../../src/service.ts'
import { batchOf } from '../../src/rows.ts'
import { openProcessorTestbed, type ProcessorTestbed } from '#test/support/processor-testbed.ts'
import { waitFor } from '#test/support/wait-for.ts'
import { connectService } from '#test/support/nats.ts'

const logger = createLogger('it-live-rates', { level: 'error' })
const codec = envelopeCodec()
const T0_US = (Date.now() - 20_000) * 1000
const RX = 'node_network_receive_bytes_total'

let bed: ProcessorTestbed
let nc: NatsConnection

beforeAll(async () => {
  bed = await openProcessorTestbed('rates', { partitions: 1 })
  nc = await connectService('it-live-rates')
})

afterAll(async () => {
  await nc.drain()
  await bed.close()
})

function networkEnvelope(seq: number, rxBytes: number): Envelope {
  const eth0 = { ...zeroNetDevCounters('eth0'), rx_bytes: rxBytes }
  return {
    tenant: 'acme',
    host_id: 'web-1',
    hostname: 'web-1',
    agent_id: 'agent-a',
    seq,
    ts_us: T0_US + seq * 1_000_000,
    interval_ms: 1000,
    sample: { family: 'network', data: { interfaces: [eth0] } },
  }
}

async function send(envelopes: Envelope[]): Promise<void> {
  const producer = createKafka(bed.brokers, 'it-live-rates', logger).producer()
  await producer.connect()
  await producer.send({
    topic: bed.config.topic,
    messages: envelopes.map((e) => ({ key: 'acme/web-1', value: codec.encode(e) })),
  })
  await producer.disconnect()
}

/** The receive-bytes rates of eth0 published while `run` goes on, keyed by sample second. */
async function ratesDuring(run: () => Promise<void>, expected: number): Promise<Map<number, number>> {
  const seen = new Map<number, number>()
  const sub = nc.subscribe(liveSubject('acme', 'web-1'))
  void (async () => {
    for await (const m of sub) {
      const message = JSON.parse(new TextDecoder().decode(m.data)) as LiveMessage
      for (const [metric, labels, tsUs, perSecond] of message.rates ?? [])
        if (metric === RX && labels === '{"device":"eth0"}')
          seen.set(Math.round((tsUs - T0_US) / 1_000_000), perSecond)
    }
  })()
  await run()
  await waitFor('the rates on NATS', () => Promise.resolve(seen.size >= expected ? true : undefined))
  sub.unsubscribe()
  return seen
}

describe('live counter rates', () => {
  it('rate counters from the second sample, and from the stored one after a member change', async () => {
    const { config, clickhouse } = bed
    const kafka = createKafka(bed.brokers, 'it-live-rates', logger)
    const first = await ratesDuring(async () => {
      await send([networkEnvelope(0, 1_000), networkEnvelope(1, 3_000), networkEnvelope(2, 7_000)])
      const a = await startProcessor({ config, kafka, clickhouse, logger, nats: nc })
      await waitFor('three envelopes stored', () =>
        Promise.resolve(a.stats.envelopes >= 3 ? true : undefined),
      )
      const text = await processorMetricsText(a)
      expect(text).toMatch(/^procstream_processor_live_rates_total \d+$/m)
      await a.stop()
    }, 2)
    // Second 0 has nothing before it; then 2,000 and 4,000 bytes a second.
    expect([...first].sort()).toEqual([
      [1, 2_000],
      [2, 4_000],
    ])

    // A new member knows nothing of web-1 until it reads ClickHouse: its first sample is rated too,
    // and the counter restarting (the host rebooted) reads as a reset.
    let b: Awaited<ReturnType<typeof startProcessor>> | undefined
    const second = await ratesDuring(async () => {
      await send([networkEnvelope(3, 8_000), networkEnvelope(4, 500)])
      b = await startProcessor({ config, kafka, clickhouse, logger, nats: nc })
    }, 2)
    expect(b?.rates?.stats.resets).toBe(1)
    await b?.stop()
    expect([...second].sort()).toEqual([
      [3, 1_000],
      [4, 500],
    ])
  })

  it('never stops a partition when NATS is gone: the publish is counted as failed', async () => {
    const gone = await connectService('it-live-rates')
    await gone.close()
    const publisher = new LivePublisher(gone)
    const sent = publisher.publish(
      batchOf([['acme', RX, 'web-1', '{"device":"eth0"}', 1_795_000_000_000_000, 1]]),
    )
    expect(sent).toBe(0)
    expect(publisher.failures).toBe(1)
  })
})
