/**
 * The broker behind the gateway goes away while the real agent keeps sending through it: the gateway
 * answers with errors instead of 202 (never a 202 for records Kafka did not take), the agent keeps
 * its records in its spool, and once the broker is back every sequence number is in the topic. A
 * request whose acknowledgement was lost on the way may be there twice (the processors drop the
 * repeat by sequence number); nothing may be missing or out of order.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startKafka, type LocalKafka } from '../../../deploy/local/kafka.ts'
import { findFreePortPair } from '../../../deploy/local/ports.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { openGatewayTestbed, type GatewayTestbed } from '#test/support/gateway-testbed.ts'
import { outOfOrder, startGatewayAgent, spoolHasSegments } from '#test/support/gateway-agent.ts'
import type { NodeChild } from '#test/support/node-child.ts'
import { readTopic } from '#test/support/topic.ts'
import { waitFor } from '#test/support/wait-for.ts'

const HOST_ID = `gw-kafka-outage-${String(process.pid)}`
const OUTAGE_MS = 15_000

let dir = ''
let ports: [number, number] = [0, 0]
let broker: LocalKafka | undefined
let bed: GatewayTestbed | undefined
let agent: NodeChild | undefined

const startBroker = (): Promise<LocalKafka> =>
  startKafka({ dataDir: join(dir, 'kafka'), port: ports[0], controllerPort: ports[1], partitions: 1 })
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'procstream-gw-kafka-outage-'))
  ports = await findFreePortPair()
  broker = await startBroker()
  bed = await openGatewayTestbed('gw_kafka_outage', { partitions: 1, brokers: broker.brokers })
})

afterAll(async () => {
  await agent?.kill()
  await bed?.close()
  await broker?.stop()
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

describe('Kafka outage behind the gateway', () => {
  it(
    'answers no 202 while Kafka is away, and the agent’s spool delivers everything after',
    { timeout: 240_000 },
    async () => {
      const testbed = bed as GatewayTestbed
      const brokers = testbed.brokers
      const topic = testbed.config.topic
      const started = await startGatewayAgent(testbed, { dir, hostId: HOST_ID, tenant: 'acme' })
      agent = started.agent
      const { spoolDir } = started

      await (broker as LocalKafka).stop()
      broker = undefined
      await sleep(OUTAGE_MS)
      // The agent was told no: its records are on disk, and the gateway said why.
      expect(await spoolHasSegments(spoolDir)).toBe(true)
      expect(agent.running).toBe(true)

      broker = await startBroker()
      await waitFor(
        'the spool to drain',
        async () => ((await spoolHasSegments(spoolDir)) ? undefined : true),
        120_000,
      )
      await sleep(1_000)
      expect(await agent.stop()).toBe(0)
      const stopped = agent.logLines().find((l) => l.msg === 'agent stopped')
      expect(stopped).toMatchObject({ droppedRecords: 0, queuedRecords: 0, spooledRecords: 0 })
      // The gateway said no (or did not answer in time) while Kafka was away, and the agent retried.
      const failures = agent.logLines().filter((l) => String(l.msg).includes('send failed'))
      expect(failures.length).toBeGreaterThan(0)
      for (const f of failures)
        expect(String(f.err)).toMatch(/HTTP 503: .*\(KAFKA_UNAVAILABLE\)|no answer within|unreachable/)

      const codec = envelopeCodec()
      const envelopes = (await readTopic(brokers, topic)).flatMap((m) => codec.decodeAll(m.value))
      // In topic order each new seq above every one before it; only a repeat may come lower.
      expect(outOfOrder(envelopes, { repeats: true })).toEqual([])
      const seqs = envelopes.map((e) => e.seq)
      const firstSeen = seqs.filter((seq, i) => seqs.indexOf(seq) === i)
      // Every sequence number the agent produced, first seen in order; repeats only of earlier ones.
      expect(firstSeen).toEqual(firstSeen.map((_, i) => i))
      expect(firstSeen.length).toBe(Number(stopped?.sentRecords))
    },
  )
})
