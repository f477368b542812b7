import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CompressionTypes,
  ConfigResourceTypes,
  Kafka,
  Partitioners,
  logLevel,
  type Consumer,
  type EachBatchPayload,
} from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ServiceError } from '#platform/errors.ts'
import { findFreePortPair } from '../../ports.ts'
import { ensureTopics, startKafka, type LocalKafka } from '../../kafka.ts'

const TOPIC = 'it-samples'
const GROUP = 'it-group'
const PARTITIONS = 3
const KEYS = ['host-a', 'host-b', 'host-c', 'host-d', 'host-e']
const TOTAL = 40

interface Seen {
  partition: number
  offset: number
  key: string
  value: number
}

function client(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'it-kafka', brokers, logLevel: logLevel.NOTHING })
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A consumer in GROUP that processes with eachBatch, resolving and committing by hand. */
async function runConsumer(
  brokers: string[],
  handle: (
    batch: EachBatchPayload['batch'],
    commit: (partition: number, next: number) => Promise<void>,
    resolveOffset: (o: string) => void,
  ) => Promise<void>,
): Promise<Consumer> {
  const consumer = client(brokers).consumer({
    groupId: GROUP,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      await handle(
        payload.batch,
        async (partition, next) => {
          await consumer.commitOffsets([{ topic: TOPIC, partition, offset: String(next) }])
        },
        (offset) => {
          payload.resolveOffset(offset)
        },
      )
      await payload.heartbeat()
    },
  })
  return consumer
}

describe('local Kafka broker (KRaft, Maven jars) with kafkajs', () => {
  let dir: string
  let dataDir: string
  let port: number
  let controllerPort: number
  let kafka: LocalKafka
  const produced: { key: string; value: number }[] = []
  const firstRun: Seen[] = []
  const secondRun: Seen[] = []
  const cutoff = new Map<number, number>()
  const high = new Map<number, number>()

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'procstream-kafka-it-'))
    dataDir = join(dir, 'kafka')
    ;[port, controllerPort] = await findFreePortPair()
    const started = Date.now()
    kafka = await startKafka({ dataDir, port, controllerPort, partitions: 1 })
    console.log(`kafka start-to-ready: ${Date.now() - started} ms`)
  })

  afterAll(async () => {
    await kafka.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves admin createTopics and fetchTopicMetadata', async () => {
    const admin = client(kafka.brokers).admin()
    await admin.connect()
    try {
      expect(
        await admin.createTopics({
          topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 }],
          waitForLeaders: true,
        }),
      ).toBe(true)
      const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] })
      expect(meta.topics).toHaveLength(1)
      expect(meta.topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2])
      expect(meta.topics[0]?.partitions.every((p) => p.leader === 1)).toBe(true)
    } finally {
      await admin.disconnect()
    }
  })

  it('ensureTopics is idempotent and leaves existing topics alone', async () => {
    await ensureTopics(kafka.brokers, [
      { name: TOPIC, partitions: 7 },
      { name: 'it-other', partitions: 2, retentionMs: 3_600_000 },
    ])
    await ensureTopics(kafka.brokers, [{ name: 'it-other', partitions: 2, retentionMs: 3_600_000 }])
    const admin = client(kafka.brokers).admin()
    await admin.connect()
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [TOPIC, 'it-other'] })
      const counts = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]))
      expect(counts).toEqual({ [TOPIC]: PARTITIONS, 'it-other': 2 })
      const configs = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'it-other', configNames: ['retention.ms'] }],
        includeSynonyms: false,
      })
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('3600000')
    } finally {
      await admin.disconnect()
    }
  })

  it('accepts keyed GZIP batches from an idempotent producer (acks -1, one in flight)', async () => {
    const producer = client(kafka.brokers).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    })
    await producer.connect()
    try {
      for (let batch = 0; batch < 4; batch++) {
        const messages = Array.from({ length: TOTAL / 4 }, (_, j) => {
          const value = batch * (TOTAL / 4) + j
          const key = KEYS[value % KEYS.length] ?? 'none'
          produced.push({ key, value })
          return { key, value: String(value) }
        })
        const meta = await producer.send({
          topic: TOPIC,
          acks: -1,
          compression: CompressionTypes.GZIP,
          messages,
        })
        expect(meta.every((m) => m.errorCode === 0)).toBe(true)
      }
    } finally {
      await producer.disconnect()
    }
    const admin = client(kafka.brokers).admin()
    await admin.connect()
    try {
      const offsets = await admin.fetchTopicOffsets(TOPIC)
      for (const o of offsets) high.set(o.partition, Number(o.high))
    } finally {
      await admin.disconnect()
    }
    expect([...high.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL)
    for (const [p, h] of high) cutoff.set(p, Math.floor(h / 2))
  })

  it('commits eachBatch progress by hand, and a second group member resumes right after the commit', async () => {
    const committed = new Map<number, number>()
    const first = await runConsumer(kafka.brokers, async (batch, commit, resolveOffset) => {
      const stop = cutoff.get(batch.partition) ?? 0
      let last: number | undefined
      for (const m of batch.messages) {
        const offset = Number(m.offset)
        if (offset >= stop) break
        firstRun.push({
          partition: batch.partition,
          offset,
          key: m.key?.toString() ?? '',
          value: Number(m.value?.toString()),
        })
        resolveOffset(m.offset)
        last = offset
      }
      if (last !== undefined) {
        await commit(batch.partition, last + 1)
        committed.set(batch.partition, last + 1)
      }
    })
    await until('the first consumer to commit up to the cut-off', () =>
      [...cutoff].every(([p, c]) => c === 0 || committed.get(p) === c),
    )
    await first.disconnect()

    const admin = client(kafka.brokers).admin()
    await admin.connect()
    try {
      const [fetched] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
      for (const p of fetched?.partitions ?? []) {
        const c = cutoff.get(p.partition) ?? 0
        expect(Number(p.offset)).toBe(c === 0 ? -1 : c)
      }
    } finally {
      await admin.disconnect()
    }

    const second = await runConsumer(kafka.brokers, async (batch, commit, resolveOffset) => {
      for (const m of batch.messages) {
        secondRun.push({
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key?.toString() ?? '',
          value: Number(m.value?.toString()),
        })
        resolveOffset(m.offset)
      }
      const lastMessage = batch.messages.at(-1)
      if (lastMessage !== undefined) await commit(batch.partition, Number(lastMessage.offset) + 1)
    })
    await until('the second consumer to read the rest', () => firstRun.length + secondRun.length >= TOTAL)
    // Give a wrongly re-delivered message a moment to show up before judging.
    await new Promise((r) => setTimeout(r, 1_000))
    await second.disconnect()

    for (const [p, c] of cutoff) {
      const offsets = secondRun.filter((s) => s.partition === p).map((s) => s.offset)
      if ((high.get(p) ?? 0) > c) expect(Math.min(...offsets)).toBe(c)
    }
    const values = [...firstRun, ...secondRun].map((s) => s.value).sort((a, b) => a - b)
    expect(values).toEqual(produced.map((m) => m.value).sort((a, b) => a - b))
    // Keying kept each host on one partition, in production order.
    for (const key of KEYS) {
      const mine = [...firstRun, ...secondRun]
        .filter((s) => s.key === key)
        .sort((a, b) => a.offset - b.offset)
      expect(new Set(mine.map((s) => s.partition)).size).toBe(1)
      expect(mine.map((s) => s.value)).toEqual([...mine.map((s) => s.value)].sort((a, b) => a - b))
    }
  })

  it('refuses to start a second broker on a port in use, with a clear error', async () => {
    const err: unknown = await startKafka({ dataDir: join(dir, 'other'), port, controllerPort }).catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ServiceError)
    expect((err as ServiceError).code).toBe('KAFKA_PORT_IN_USE')
    expect((err as ServiceError).message).toContain(`port ${port}`)
  })

  it('keeps topics and committed offsets across stop and start on the same data dir', async () => {
    let t = Date.now()
    await kafka.stop()
    console.log(`kafka stop: ${Date.now() - t} ms`)
    t = Date.now()
    kafka = await startKafka({ dataDir, port, controllerPort })
    console.log(`kafka restart-to-ready: ${Date.now() - t} ms`)

    const admin = client(kafka.brokers).admin()
    await admin.connect()
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] })
      expect(meta.topics[0]?.partitions).toHaveLength(PARTITIONS)
      const offsets = await admin.fetchTopicOffsets(TOPIC)
      expect(offsets.reduce((a, o) => a + Number(o.high), 0)).toBe(TOTAL)
      const [fetched] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
      for (const p of fetched?.partitions ?? []) {
        const h = high.get(p.partition) ?? 0
        expect(Number(p.offset)).toBe(h === 0 ? -1 : h)
      }
    } finally {
      await admin.disconnect()
    }

    // The group resumes after the restart with exactly the one message produced since.
    const producer = client(kafka.brokers).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    })
    await producer.connect()
    await producer.send({
      topic: TOPIC,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: [{ key: 'host-a', value: 'after-restart' }],
    })
    await producer.disconnect()
    const seen: string[] = []
    const consumer = await runConsumer(kafka.brokers, async (batch, commit, resolveOffset) => {
      for (const m of batch.messages) {
        seen.push(m.value?.toString() ?? '')
        resolveOffset(m.offset)
      }
      const lastMessage = batch.messages.at(-1)
      if (lastMessage !== undefined) await commit(batch.partition, Number(lastMessage.offset) + 1)
    })
    await until('the post-restart message', () => seen.length >= 1)
    await new Promise((r) => setTimeout(r, 1_000))
    await consumer.disconnect()
    expect(seen).toEqual(['after-restart'])
  })

  it('reports a broker that dies during start-up instead of waiting for the deadline', async () => {
    // Storage claiming another node id: the broker refuses it and exits at once.
    const broken = join(dir, 'broken')
    await mkdir(join(broken, 'kraft-logs'), { recursive: true })
    await writeFile(
      join(broken, 'kraft-logs', 'meta.properties'),
      'version=1\ncluster.id=q1Sh-9_ISia_zwGINzRvyQ\nnode.id=7\n',
    )
    const [p1, p2] = await findFreePortPair()
    const started = Date.now()
    const err: unknown = await startKafka({
      dataDir: broken,
      port: p1,
      controllerPort: p2,
      readyTimeoutMs: 120_000,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ServiceError)
    expect((err as ServiceError).code).toBe('KAFKA_EXITED')
    expect((err as ServiceError).message).toContain("Stored node id 7 doesn't match previous node id 1")
    expect((err as ServiceError).message).toMatch(/exited during start-up .*; see .*kafka\.log$/)
    expect(Date.now() - started).toBeLessThan(60_000)
  })
})
