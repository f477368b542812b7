/**
 * Issue 22, items 3–5, through the real gateway, broker and processor: tenant A sends what the
 * processor cannot store (an int of an older writer schema read as Infinity, ts 0 with interval_ms
 * 2^40, a 2.5 MiB incompressible record alone and beside small records for several partitions), both
 * through the gateway and straight to Kafka, while tenant B sends normally. Every record of B answered
 * 202 is stored exactly once; every refused record of A is refused at the door with a 4xx or is in the
 * dead-letter topic with its reason and A's tenant from the message key; no 5xx; the partitions drain.
 * And when a dead letter cannot be written, the partition stops and alarms, then goes on once it can.
 */
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import avro from 'avsc'
import type { Kafka } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKafka } from '#platform/kafka.ts'
import { createLogger } from '#platform/logger.ts'
import { prng } from '#platform/prng.ts'
import { envelopeCodec, schemaFingerprint } from '#schemas/src/codec.ts'
import type { Envelope } from '#schemas/src/families.ts'
import { DEAD_LETTER_HEADERS } from '../../../stream-processors/src/dead-letters.ts'
import { processorMetricsText } from '../../../stream-processors/src/metrics.ts'
import type { StreamProcessor } from '../../../stream-processors/src/processor.ts'
import { startProcessor } from '../../../stream-processors/src/service.ts'
import { loadEnvelope } from '../../support/envelopes.ts'
import { openGatewayTestbed, type GatewayTestbed } from '../../support/gateway-testbed.ts'
import { waitFor } from '../../support/wait-for.ts'

const codec = envelopeCodec()
const logger = createLogger('it-hostile', { level: 'error' })
const AVRO = 'application/vnd.procstream.avro'
const PARTITIONS = 6

let bed: GatewayTestbed
let kafka: Kafka
let processor: StreamProcessor
let keyA = ''
let keyB = ''
/** Every answer the gateway gave, to check that none was a 5xx. */
const statuses: number[] = []
/** B's records answered 202, by seq: each must be stored exactly once. */
const acceptedB: number[] = []
let seqB = 0

const now = (): number => Date.now() * 1000

/** The v1 writer schema (schemas/avro/history/v1), to write records as an older agent did. */
function historyType(version: string): avro.Type {
  const dir = fileURLToPath(new URL(`../../../schemas/avro/history/${version}/`, import.meta.url))
  const registry: Record<string, avro.Type> = {}
  for (const f of readdirSync(dir).filter((n) => n !== 'envelope.avsc'))
    avro.Type.forSchema(JSON.parse(readFileSync(join(dir, f), 'utf8')) as avro.Schema, {
      registry,
      wrapUnions: 'auto',
    })
  return avro.Type.forSchema(JSON.parse(readFileSync(join(dir, 'envelope.avsc'), 'utf8')) as avro.Schema, {
    registry,
    wrapUnions: 'auto',
  })
}
const v1 = historyType('v1')
const v1Header = Buffer.concat([Buffer.from([0xc3, 0x01]), schemaFingerprint(v1)])

function encodeV1(e: Envelope): Buffer {
  return Buffer.concat([
    v1Header,
    v1.toBuffer({ ...e, sample: { 'procstream.v1.LoadSample': e.sample.data } }),
  ])
}

const str = avro.Type.forSchema('string')
const long = avro.Type.forSchema('long')

/**
 * The record with its interval_ms varint replaced by `varint`: the fields before it are four strings
 * and two longs, so its place is known without decoding.
 */
function withInterval(record: Buffer, e: Envelope, varint: Buffer): Buffer {
  const at =
    10 +
    [e.tenant, e.host_id, e.hostname, e.agent_id].reduce((n, s) => n + str.toBuffer(s).length, 0) +
    long.toBuffer(e.seq).length +
    long.toBuffer(e.ts_us).length
  const old = long.toBuffer(e.interval_ms)
  expect(record.subarray(at, at + old.length)).toEqual(old)
  return Buffer.concat([record.subarray(0, at), varint, record.subarray(at + old.length)])
}

/** A varint that avsc's reader sums to Infinity: its groups' weights overflow a double. */
const INFINITE_VARINT = Buffer.concat([Buffer.alloc(160, 0xff), Buffer.from([0x7f])])
/** 2^40 zigzag-encoded: as an int, far beyond 32 bits. */
const VARINT_2_40 = long.toBuffer(2 ** 40)

const envA = (seq: number, over: Partial<Envelope> = {}): Envelope =>
  loadEnvelope({
    tenant: 'tenant-a',
    host_id: 'a-1',
    hostname: 'a-1',
    agent_id: 'agent-a',
    seq,
    ts_us: now(),
    ...over,
  })
const envB = (seq: number, host: string): Envelope =>
  loadEnvelope({
    tenant: 'tenant-b',
    host_id: host,
    hostname: host,
    agent_id: `agent-${host}`,
    seq,
    ts_us: now(),
  })

async function post(key: string, body: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${bed.gateway.url}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': AVRO },
    body,
  })
  statuses.push(res.status)
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

/** B sends a few records for several hosts (several partitions), as an agent would. */
async function sendB(n = 3): Promise<void> {
  const records: Envelope[] = []
  for (let i = 0; i < n; i++) records.push(envB(seqB++, `b-${String(i % 3)}`))
  // One agent per host: each host's seqs rise on their own.
  const res = await post(keyB, Buffer.concat(records.map((e) => codec.encode(e))))
  expect(res.status).toBe(202)
  acceptedB.push(...records.map((e) => e.seq))
}

async function storedB(): Promise<number[]> {
  const rs = await bed.clickhouse.query({
    query: `SELECT seq FROM ${bed.config.clickhouse.database}.sample_log WHERE tenant = 'tenant-b' ORDER BY seq`,
    format: 'JSONEachRow',
  })
  return (await rs.json<{ seq: string }>()).map((r) => Number(r.seq))
}

async function lagIsZero(): Promise<true | undefined> {
  const text = await processorMetricsText(processor)
  const lags = [...text.matchAll(/^procstream_processor_consumer_lag_messages\{partition="\d+"\} (\d+)$/gm)]
  return lags.length === PARTITIONS && lags.every((m) => m[1] === '0') ? true : undefined
}

interface Letter {
  reason: string
  tenant: string
  key: string
  offset: string
  value: Buffer
}

async function deadLetters(count: number): Promise<Letter[]> {
  const consumer = kafka.consumer({ groupId: `${bed.config.topic}-dlq-${String(Date.now())}` })
  await consumer.connect()
  await consumer.subscribe({ topic: bed.config.deadLetterTopic, fromBeginning: true })
  const letters: Letter[] = []
  await consumer.run({
    eachMessage: ({ message }) => {
      const h = message.headers ?? {}
      letters.push({
        reason: String(h[DEAD_LETTER_HEADERS.reason]),
        tenant: String(h[DEAD_LETTER_HEADERS.tenant]),
        key: String(message.key),
        offset: String(h[DEAD_LETTER_HEADERS.offset]),
        value: message.value ?? Buffer.alloc(0),
      })
      return Promise.resolve()
    },
  })
  try {
    await waitFor(`${String(count)} dead letters`, () =>
      Promise.resolve(letters.length >= count ? true : undefined),
    )
  } finally {
    await consumer.disconnect()
  }
  return letters
}

beforeAll(async () => {
  bed = await openGatewayTestbed('hostile_tenant', { partitions: PARTITIONS })
  kafka = createKafka(bed.brokers, 'it-hostile', logger)
  keyA = await bed.key('tenant-a', ['ingest'])
  keyB = await bed.key('tenant-b', ['ingest'])
  processor = await startProcessor({ config: bed.config, kafka, clickhouse: bed.clickhouse, logger })
})

afterAll(async () => {
  await processor.stop()
  await bed.close()
})

describe('one tenant’s hostile input costs another nothing', () => {
  it('the gateway refuses at the door, with 4xx naming the record, what the processor would refuse', async () => {
    await sendB()
    const infiniteV1 = withInterval(encodeV1(envA(1)), envA(1), INFINITE_VARINT)
    const ts0 = envA(2, { ts_us: 0 })
    const ts0Interval240 = withInterval(codec.encode(ts0), ts0, VARINT_2_40)
    // Incompressible: random bytes as the hostname, 2.5 MiB (over the broker's 1 MB, under 4 MiB).
    const huge = codec.encode(envA(3, { hostname: randomBytes(2_000_000).toString('base64') }))
    expect(huge.length).toBeGreaterThan(2.5 * 1024 * 1024)
    const small = [0, 1, 2, 3, 4, 5, 6, 7].map((h) =>
      codec.encode(envA(10 + h, { host_id: `a-${String(h)}` })),
    )
    for (const [what, body] of [
      ['an int of the v1 writer read as Infinity', infiniteV1],
      ['ts 0 with interval_ms 2^40', ts0Interval240],
      ['a 2.5 MiB record alone', huge],
      [
        'a 2.5 MiB record among small ones for several partitions',
        Buffer.concat([...small.slice(0, 4), huge, ...small.slice(4)]),
      ],
    ] as const) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const res = await post(keyA, body)
        // The same answer on every retry: 4xx (413 for the huge one), never "resend them".
        expect(res.status, what).toBeGreaterThanOrEqual(400)
        expect(res.status, what).toBeLessThan(500)
        if (what.startsWith('a 2.5 MiB')) expect(res.status, what).toBe(413)
        expect(res.json.code, what).toEqual(expect.any(String))
        if (what.includes('among')) expect(res.json.record, what).toBe(4)
        await sendB()
      }
    }
    // What B was answered 202 for is stored, once, and A's refused requests produced nothing at all.
    await waitFor('B’s records stored', async () =>
      (await storedB()).length >= acceptedB.length ? true : undefined,
    )
    expect(await storedB()).toEqual([...acceptedB].sort((a, b) => a - b))
    const rs = await bed.clickhouse.query({
      query: `SELECT count() AS n FROM ${bed.config.clickhouse.database}.sample_log WHERE tenant = 'tenant-a'`,
      format: 'JSONEachRow',
    })
    expect(Number((await rs.json<{ n: string }>())[0]?.n)).toBe(0)
    await waitFor('every partition drained', lagIsZero)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
  })

  it('straight to Kafka, the processor dead-letters A’s poison records and stores the rest of their chunk', async () => {
    const producer = kafka.producer()
    await producer.connect()
    const keyOfA = 'tenant-a/a-1'
    const goodA = Array.from({ length: 200 }, (_, i) => envA(100 + i))
    const bRecords = [0, 1, 2].map((i) => envB(1000 + i, 'b-0'))
    const poisonInf = withInterval(codec.encode(envA(90)), envA(90), INFINITE_VARINT)
    const poisonV1 = withInterval(encodeV1(envA(91)), envA(91), INFINITE_VARINT)
    const ts0 = envA(92, { ts_us: 0 })
    const poisonTs0 = withInterval(codec.encode(ts0), ts0, VARINT_2_40)
    // A's payload claims tenant B: dead-lettered under A, the tenant of the key.
    const claimsB = codec.encode(envA(93, { tenant: 'tenant-b' }))
    // All on one partition, so they share one chunk with B's records.
    await producer.send({
      topic: bed.config.topic,
      messages: [
        { partition: 0, key: keyOfA, value: poisonInf },
        ...Array.from({ length: 10 }, (_, m) => ({
          partition: 0,
          key: keyOfA,
          value: Buffer.concat(goodA.slice(m * 20, m * 20 + 20).map((e) => codec.encode(e))),
        })),
        { partition: 0, key: 'tenant-b/b-0', value: Buffer.concat(bRecords.map((e) => codec.encode(e))) },
        { partition: 0, key: keyOfA, value: poisonV1 },
        { partition: 0, key: keyOfA, value: poisonTs0 },
        { partition: 0, key: keyOfA, value: claimsB },
      ],
    })
    await producer.disconnect()
    acceptedB.push(...bRecords.map((e) => e.seq))
    await waitFor('every partition drained', lagIsZero)
    expect(await storedB()).toEqual([...acceptedB].sort((a, b) => a - b))
    const rs = await bed.clickhouse.query({
      query: `SELECT seq FROM ${bed.config.clickhouse.database}.sample_log WHERE tenant = 'tenant-a' ORDER BY seq`,
      format: 'JSONEachRow',
    })
    expect((await rs.json<{ seq: string }>()).map((r) => Number(r.seq))).toEqual(goodA.map((e) => e.seq))
    const letters = await deadLetters(4)
    expect(letters).toHaveLength(4)
    for (const l of letters) {
      expect(l.tenant).toBe('tenant-a')
      expect(l.key).toBe(keyOfA)
      expect(l.reason).toMatch(/^[A-Z_]+$/)
    }
    // The raw bytes as they arrived, not something re-encoded.
    expect(letters.map((l) => l.value)).toEqual([poisonInf, poisonV1, poisonTs0, claimsB])
    expect(letters[3]?.reason).toBe('KEY_MISMATCH')
  })

  it('stops a partition whose dead letters cannot be written, alarms, and goes on once they can', async () => {
    const admin = kafka.admin()
    await admin.connect()
    try {
      await admin.deleteTopics({ topics: [bed.config.deadLetterTopic] })
      const producer = kafka.producer()
      await producer.connect()
      const ts0 = envA(300, { ts_us: 0 })
      const b = envB(2000, 'b-0')
      await producer.send({
        topic: bed.config.topic,
        messages: [
          { partition: 1, key: 'tenant-a/a-1', value: withInterval(codec.encode(ts0), ts0, VARINT_2_40) },
          { partition: 1, key: 'tenant-b/b-0', value: codec.encode(b) },
        ],
      })
      await producer.disconnect()
      await waitFor('the alarm', async () =>
        /^procstream_processor_dead_letter_stalled_partitions 1$/m.test(await processorMetricsText(processor))
          ? true
          : undefined,
      )
      expect(processor.stats.deadLetterFailures).toBeGreaterThan(0)
      // Nothing past the letter is committed or stored while it cannot be written.
      expect(await lagIsZero()).toBeUndefined()
      expect(await storedB()).not.toContain(2000)
      await admin.createTopics({
        topics: [{ topic: bed.config.deadLetterTopic, numPartitions: 1 }],
        waitForLeaders: true,
      })
      acceptedB.push(b.seq)
      await waitFor('every partition drained', lagIsZero, 120_000)
      expect(await storedB()).toEqual([...acceptedB].sort((x, y) => x - y))
      expect(await processorMetricsText(processor)).toMatch(
        /^procstream_processor_dead_letter_stalled_partitions 0$/m,
      )
      const letters = await deadLetters(1)
      expect(letters.map((l) => [l.tenant, l.offset])).toEqual([['tenant-a', '0']])
    } finally {
      await admin.disconnect()
    }
  }, 180_000)

  it('a structure-aware fuzz of several hundred hostile requests from A costs B nothing', async () => {
    // The straight-to-Kafka tests above gave B's agents sequence numbers up to 2000: continue past them,
    // or the processor rightly drops B's records as resends.
    seqB = 10_000
    const random = prng(22)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
    const at = (n: number): number => Math.floor(random() * n)
    /** Counts, lengths and varints a hostile writer would declare. */
    const VARINTS = [
      long.toBuffer(2 ** 32 - 1),
      long.toBuffer(2 ** 50),
      long.toBuffer(-(2 ** 50)),
      long.toBuffer(-1),
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), // overlong
      Buffer.alloc(11, 0xff), // longer than any 64-bit varint
      INFINITE_VARINT,
      VARINT_2_40,
    ]
    let seq = 5000
    const base = (): Buffer => {
      const e = envA(seq++, { host_id: `a-${String(at(8))}` })
      return random() < 0.25 ? encodeV1(e) : codec.encode(e)
    }
    const zstdWindowBomb = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x02, 0x00, 0x00, 0x61])
    const zstdManyBlocks = Buffer.concat([
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]),
      ...Array.from({ length: 16_000 }, (_, i) => {
        const h = (128 * 1024 * 8) | 2 | (i === 15_999 ? 1 : 0)
        return Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x61])
      }),
    ])
    const gzipBomb = gzipSync(Buffer.alloc(64 * 1024 * 1024))
    const cases: { what: string; body: Buffer; encoding?: string; type?: string }[] = []
    for (let i = 0; i < 130; i++) {
      const r = base()
      const j = 10 + at(r.length - 10)
      const flipped = Buffer.from(r)
      flipped[j] = (flipped[j] ?? 0) ^ (1 << at(8))
      cases.push({ what: `byte ${String(j)} flipped`, body: flipped })
    }
    for (let i = 0; i < 130; i++) {
      const r = base()
      const j = 10 + at(r.length - 10)
      const body = Buffer.concat([r.subarray(0, j), pick(VARINTS), r.subarray(j + 1 + at(3))])
      cases.push({ what: `varint at byte ${String(j)}`, body })
    }
    for (let i = 0; i < 40; i++) {
      const r = base()
      cases.push({ what: 'truncated', body: r.subarray(0, at(r.length)) })
    }
    for (let i = 0; i < 20; i++) {
      const r = base()
      cases.push({ what: 'trailing garbage', body: Buffer.concat([r, randomBytes(1 + at(64))]) })
    }
    for (let i = 0; i < 10; i++) {
      cases.push({ what: 'zstd window bomb', body: zstdWindowBomb, encoding: 'zstd' })
      cases.push({ what: 'zstd many blocks', body: zstdManyBlocks, encoding: 'zstd' })
      cases.push({ what: 'gzip bomb', body: gzipBomb, encoding: 'gzip' })
      cases.push({ what: 'garbage zstd', body: randomBytes(64 + at(4096)), encoding: 'zstd' })
    }
    for (let i = 0; i < 5; i++) {
      const huge = codec.encode(envA(seq++, { hostname: randomBytes(2_000_000).toString('base64') }))
      const small = Array.from({ length: 200 }, () =>
        codec.encode(envA(seq++, { host_id: `a-${String(at(8))}` })),
      )
      cases.push({ what: 'many small and one huge', body: Buffer.concat([...small, huge]) })
      cases.push({ what: 'wrong content type', body: base(), type: 'application/json' })
      cases.push({ what: 'unknown encoding', body: base(), encoding: 'br' })
    }
    cases.push({ what: 'empty', body: Buffer.alloc(0) })
    expect(cases.length).toBeGreaterThan(350)

    const rssBefore = process.memoryUsage().rss
    let peakRss = rssBefore
    const answers = new Map<number, number>()
    let slowest = 0
    for (const [i, c] of cases.entries()) {
      const started = Date.now()
      const res = await fetch(`${bed.gateway.url}/v1/ingest`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${keyA}`,
          'content-type': c.type ?? AVRO,
          ...(c.encoding !== undefined && { 'content-encoding': c.encoding }),
        },
        body: c.body,
      })
      const text = await res.text()
      slowest = Math.max(slowest, Date.now() - started)
      answers.set(res.status, (answers.get(res.status) ?? 0) + 1)
      // Only what a retry can fix may be a 5xx, and it says when to retry.
      if (res.status >= 500) {
        expect(res.status, `${c.what}: ${text}`).toBe(503)
        expect(res.headers.get('retry-after'), c.what).not.toBeNull()
      }
      if (res.status >= 400) expect(JSON.parse(text) as { code?: unknown }, c.what).toHaveProperty('code')
      peakRss = Math.max(peakRss, process.memoryUsage().rss)
      if (i % 10 === 0) await sendB()
    }
    // Bounded in time and memory whatever arrived (the gateway runs in this test's process).
    expect(slowest).toBeLessThan(10_000)
    expect(peakRss - rssBefore).toBeLessThan(1024 ** 3)
    expect((await fetch(`${bed.gateway.url}/healthz`)).status).toBe(200)
    expect([...answers.keys()].filter((s) => s >= 500 && s !== 503)).toEqual([])

    // B: every record answered 202 stored exactly once. A: whatever was accepted is stored at most once.
    await waitFor('B’s records stored', async () =>
      (await storedB()).length >= acceptedB.length ? true : undefined,
    )
    await waitFor('every partition drained', lagIsZero, 120_000)
    expect(await storedB()).toEqual([...acceptedB].sort((a, b) => a - b))
    const dup = await bed.clickhouse.query({
      query: `SELECT agent_id, seq, count() AS n FROM ${bed.config.clickhouse.database}.sample_log
              WHERE tenant = 'tenant-a' GROUP BY agent_id, seq HAVING n > 1`,
      format: 'JSONEachRow',
    })
    expect(await dup.json()).toEqual([])
  }, 300_000)
})
