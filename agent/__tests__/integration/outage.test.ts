/**
 * A Kafka outage costs nothing: the real agent samples at 10 Hz against its own broker, the broker is
 * stopped for 15 s and started again on the same data, and afterwards the topic holds every sequence
 * number of the agent exactly once and in order, including the ~150 ticks taken while it was down.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureTopics, startKafka, type LocalKafka } from '../../../deploy/local/kafka.ts'
import { findFreePortPair } from '../../../deploy/local/ports.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Envelope } from '#schemas/src/families.ts'
import { NodeChild } from '#test/support/node-child.ts'
import { readTopic, topicEnd as endOf } from '#test/support/topic.ts'
import { waitFor } from '#test/support/wait-for.ts'

const TOPIC = 'procstream.outage-test'
const HOST_ID = `outage-${process.pid}`
const OUTAGE_MS = 15_000

let dir = ''
let ports: [number, number] = [0, 0]
let kafka: LocalKafka | undefined
let agent: NodeChild | undefined

function startBroker(): Promise<LocalKafka> {
  return startKafka({ dataDir: join(dir, 'kafka'), port: ports[0], controllerPort: ports[1], partitions: 1 })
}

/** Every envelope in the topic, in offset order (the topics here have one partition). */
async function readEnvelopes(brokers: string[], topic = TOPIC): Promise<Envelope[]> {
  const codec = envelopeCodec()
  return (await readTopic(brokers, topic)).flatMap((m) => codec.decodeAll(m.value))
}

const topicEnd = (brokers: string[], topic = TOPIC): Promise<number> => endOf(brokers, topic)

function agentArgs(brokers: string[], topic: string, spoolDir: string): string[] {
  return [
    '--interval',
    '100',
    '--host-id',
    HOST_ID,
    '--brokers',
    brokers.join(','),
    '--topic',
    topic,
    '--spool-dir',
    spoolDir,
  ]
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const hasSegments = async (spoolDir: string): Promise<boolean> =>
  (await readdir(spoolDir)).some((f) => f.endsWith('.seg'))

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'procstream-outage-'))
  ports = await findFreePortPair()
  kafka = await startBroker()
  await ensureTopics(kafka.brokers, [{ name: TOPIC, partitions: 1 }])
})

afterAll(async () => {
  await agent?.kill()
  await kafka?.stop()
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

describe('agent through a Kafka outage', () => {
  it('delivers every sample exactly once and in order', { timeout: 300_000 }, async () => {
    const broker = kafka as LocalKafka
    const brokers = broker.brokers
    const spoolDir = join(dir, 'spool')
    agent = NodeChild.start('agent/src/main.ts', [
      ...agentArgs(brokers, TOPIC, spoolDir),
      '--spool-max-bytes',
      String(64 * 1024 * 1024),
    ])
    await waitFor('the agent to deliver its first samples', async () =>
      (await topicEnd(brokers)) > 0 ? true : undefined,
    )

    await broker.stop()
    kafka = undefined
    const outageStartUs = Date.now() * 1000
    await sleep(OUTAGE_MS)
    const outageEndUs = Date.now() * 1000
    // The samples of the outage are on disk, not only in the agent's memory.
    expect(await hasSegments(spoolDir)).toBe(true)
    expect(agent.running).toBe(true)

    kafka = await startBroker()
    await waitFor(
      'the spool to drain',
      async () => ((await hasSegments(spoolDir)) ? undefined : true),
      120_000,
    )
    await sleep(2_000)
    expect(await agent.stop()).toBe(0)

    const stopped = agent.logLines().find((l) => l.msg === 'agent stopped')
    expect(stopped).toMatchObject({ droppedRecords: 0, queuedRecords: 0, spooledRecords: 0 })
    const sent = Number(stopped?.sentRecords)

    const envelopes = await readEnvelopes(kafka.brokers)
    expect(new Set(envelopes.map((e) => e.agent_id)).size).toBe(1)
    expect(envelopes.every((e) => e.host_id === HOST_ID)).toBe(true)
    const seqs = envelopes.map((e) => e.seq)
    expect(seqs.length).toBe(sent)
    // Present once each, in order: the consumed sequence is exactly 0, 1, …, N-1.
    const firstGap = seqs.findIndex((s, i) => s !== i)
    expect(firstGap).toBe(-1)

    // The ticker kept running while the broker was away: ~150 ticks of all families fall inside it.
    const ticksDuringOutage = new Set(
      envelopes.filter((e) => e.ts_us > outageStartUs && e.ts_us < outageEndUs).map((e) => e.ts_us),
    ).size
    expect(ticksDuringOutage).toBeGreaterThan(120)
    // ... and every family on the 10 Hz schedule (filesystem and the agent's own run every 10 s) was sampled on them.
    const fast = envelopes.filter((e) => e.interval_ms === 100)
    const families = new Set(fast.map((e) => e.sample.family)).size
    expect(families).toBeGreaterThanOrEqual(6)
    expect(
      fast.filter((e) => e.ts_us > outageStartUs && e.ts_us < outageEndUs).length,
    ).toBeGreaterThanOrEqual(120 * families)
  })

  it(
    'keeps what an agent killed during the outage had spooled, for the next start to send first',
    {
      timeout: 300_000,
    },
    async () => {
      const topic = `${TOPIC}.crash`
      const spoolDir = join(dir, 'spool-crash')
      await ensureTopics((kafka as LocalKafka).brokers, [{ name: topic, partitions: 1 }])
      const brokers = (kafka as LocalKafka).brokers
      const first = NodeChild.start('agent/src/main.ts', agentArgs(brokers, topic, spoolDir))
      agent = first
      await waitFor('the agent to deliver its first samples', async () =>
        (await topicEnd(brokers, topic)) > 0 ? true : undefined,
      )
      await (kafka as LocalKafka).stop()
      kafka = undefined
      await sleep(8_000)
      const killedAtUs = Date.now() * 1000
      await first.kill()
      expect(await hasSegments(spoolDir)).toBe(true)

      const second = NodeChild.start('agent/src/main.ts', agentArgs(brokers, topic, spoolDir))
      agent = second
      await sleep(5_000)
      kafka = await startBroker()
      await waitFor(
        'the spool to drain',
        async () => ((await hasSegments(spoolDir)) ? undefined : true),
        120_000,
      )
      await sleep(1_000)
      expect(await second.stop()).toBe(0)
      const stopped = second.logLines().find((l) => l.msg === 'agent stopped')
      expect(stopped).toMatchObject({ droppedRecords: 0, queuedRecords: 0 })

      const envelopes = await readEnvelopes(kafka.brokers, topic)
      const firstId = envelopes[0]?.agent_id
      const before = envelopes.filter((e) => e.agent_id === firstId)
      const after = envelopes.filter((e) => e.agent_id !== firstId)
      expect(new Set(after.map((e) => e.agent_id)).size).toBe(1)
      // Nothing lost and in order. The one exception to "once each": the request in flight when the
      // broker went down may have been written without its acknowledgement reaching the agent; the
      // killed agent's producer id dies with it, so the next run resends that request and the broker
      // cannot recognise it. That is at most one request (64 KiB messages, ~1 MB), a run repeated once.
      const seqs = before.map((e) => e.seq)
      const firstSeen = seqs.filter((seq, i) => seqs.indexOf(seq) === i)
      expect(firstSeen).toEqual(firstSeen.map((_, i) => i))
      const repeats = seqs.length - firstSeen.length
      if (repeats > 0) {
        const start = seqs.findIndex((seq, i) => seqs.indexOf(seq) !== i)
        const run = seqs.slice(start, start + repeats)
        expect(run).toEqual(run.map((_, i) => (run[0] ?? 0) + i))
        expect(seqs.slice(start + repeats).filter((seq) => run.includes(seq))).toEqual([])
      }
      expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => i))
      expect(envelopes.slice(0, before.length)).toEqual(before)
      // Outage samples went straight to disk: the killed run lost nothing but its last tick at most.
      const lastBefore = Math.max(...before.map((e) => e.ts_us))
      expect(lastBefore).toBeGreaterThan(killedAtUs - 300_000)
      expect(Number(stopped?.sentRecords)).toBeGreaterThan(after.length)
    },
  )
})
