import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Kafka, ProducerRecord } from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { KafkaTransport } from './kafka-transport.ts'
import { Spool } from './spool.ts'
import { SpoolingSink } from './spooling-sink.ts'

/**
 * A producer whose broker answers as the test says: each send waits for the next verdict, so a
 * test decides when the broker is "down" (reject), "up" (resolve) or "hanging" (no verdict yet).
 */
class ScriptedProducer {
  readonly delivered: number[] = []
  /** The records of every send attempt, delivered or not. */
  readonly attempts: number[][] = []
  readonly events = { DISCONNECT: 'producer.disconnect' }
  up = false
  /** The next send fails with this kafkajs protocol error type. */
  failWith: string | undefined
  private pending: { resolve: () => void; reject: (e: Error) => void; ids: number[] } | undefined
  hang = false

  on(): void {
    // Disconnect events are not simulated.
  }
  connect(): Promise<void> {
    return Promise.resolve()
  }
  disconnect(): Promise<void> {
    return Promise.resolve()
  }
  send(record: ProducerRecord): Promise<void> {
    const ids = record.messages.flatMap((m) => split(m.value as Buffer))
    this.attempts.push(ids)
    if (this.failWith !== undefined) {
      const error = Object.assign(new Error('refused'), { type: this.failWith })
      this.failWith = undefined
      return Promise.reject(error)
    }
    if (this.hang)
      return new Promise((resolve, reject) => {
        this.pending = { resolve, reject, ids }
      })
    if (!this.up) return Promise.reject(new Error('broker down'))
    this.delivered.push(...ids)
    return Promise.resolve()
  }
  /** Answers the hanging send: acknowledged or failed. */
  settle(ok: boolean): void {
    const p = this.pending
    this.pending = undefined
    this.hang = false
    if (!p) throw new Error('no send is hanging')
    if (ok) {
      this.delivered.push(...p.ids)
      p.resolve()
    } else p.reject(new Error('request timed out'))
  }
  get hanging(): boolean {
    return this.pending !== undefined
  }
}

const RECORD = 12
const rec = (i: number): Buffer => Buffer.from(`rec-${String(i).padStart(8, '0')}`)
function split(value: Buffer): number[] {
  const out: number[] = []
  for (let p = 0; p < value.length; p += RECORD)
    out.push(Number(value.subarray(p + 4, p + RECORD).toString()))
  return out
}
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const silent = createLogger('test', { level: 'silent' })

/** The sink over a Kafka transport whose client hands out `producer` (counted) and nothing else. */
function kafkaSink(
  producer: ScriptedProducer,
  spool: Spool,
  onProducer: () => void = () => undefined,
  spillAfterMs?: number,
  spillBytes?: number,
): SpoolingSink {
  const transport = new KafkaTransport({
    kafka: {
      producer: () => {
        onProducer()
        return producer
      },
    } as unknown as Kafka,
    topic: 't',
    key: 'k',
    logger: silent,
    maxMessageBytes: 10 * RECORD,
  })
  return new SpoolingSink({
    transport,
    logger: silent,
    sendAtBytes: 10 * RECORD,
    lingerMs: 1,
    maxQueueBytes: 1 << 20,
    spool,
    ...(spillAfterMs !== undefined && { spillAfterMs }),
    ...(spillBytes !== undefined && { spillBytes }),
  })
}

function setup(): { sink: SpoolingSink; producer: ScriptedProducer; spool: Spool; producers: () => number } {
  const dir = mkdtempSync(join(tmpdir(), 'sink-test-'))
  dirs.push(dir)
  const producer = new ScriptedProducer()
  const spool = Spool.open({ dir, maxBytes: 1 << 20, fsync: 'never' })
  let created = 0
  const sink = kafkaSink(
    producer,
    spool,
    () => {
      created++
    },
    50,
  )
  return { sink, producer, spool, producers: () => created }
}

describe('SpoolingSink over Kafka, with a spool', () => {
  it('spools what a failed send held and what follows, then drains spool before memory, in order', async () => {
    const { sink, producer } = setup()
    await sink.start()
    for (let i = 0; i < 10; i++) sink.enqueue(rec(i))
    await until('the failed send to spill memory', () => sink.stats.spooledRecords === 10)
    for (let i = 10; i < 30; i++) sink.enqueue(rec(i))
    expect(sink.stats).toMatchObject({ spooledRecords: 30, queuedBytes: 0 })
    producer.up = true
    await until('the spool to drain', () => sink.stats.queuedRecords === 0)
    for (let i = 30; i < 40; i++) sink.enqueue(rec(i))
    // With the spool empty again, new records wait in memory.
    expect(sink.stats.spooledRecords).toBe(0)
    await sink.stop()
    expect(producer.delivered).toEqual(range(0, 40))
    expect(sink.stats).toMatchObject({ sentRecords: 40, droppedRecords: 0, queuedRecords: 0 })
  })

  it('moves memory to the spool while a send hangs and acknowledges the in-flight records there', async () => {
    const { sink, producer } = setup()
    producer.hang = true
    await sink.start()
    for (let i = 0; i < 5; i++) sink.enqueue(rec(i))
    await until('a send to hang', () => producer.hanging)
    for (let i = 5; i < 15; i++) sink.enqueue(rec(i))
    await until('memory to move to the spool', () => sink.stats.spooledRecords === 15)
    producer.up = true
    producer.settle(true)
    await until('everything to be sent', () => sink.stats.queuedRecords === 0)
    await sink.stop()
    expect(producer.delivered).toEqual(range(0, 15))
  })

  it('keeps the records of a hanging send when memory spills past the spool’s cap, and counts what the cap deletes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sink-test-'))
    dirs.push(dir)
    const producer = new ScriptedProducer()
    producer.hang = true
    // Memory spills at 100 records, while the spool holds about 50: the cap must delete some.
    const spool = Spool.open({ dir, maxBytes: 1024, segmentBytes: 256, fsync: 'never' })
    const sink = kafkaSink(producer, spool, undefined, 60_000, 100 * RECORD)
    await sink.start()
    for (let i = 0; i < 5; i++) sink.enqueue(rec(i))
    await until('a send to hang', () => producer.hanging)
    let made = 5
    while (sink.stats.spooledRecords === 0) sink.enqueue(rec(made++))
    // Nothing is deleted while the hanging send's records are among them.
    expect(sink.stats).toMatchObject({ spooledRecords: made, droppedRecords: 0 })
    producer.up = true
    producer.settle(true)
    await until('everything left to be sent', () => sink.stats.queuedRecords === 0)
    await sink.stop()
    const later = producer.delivered.length - 5
    // The hanging send's records, then the newest ones the cap left, each once and in order.
    expect(producer.delivered).toEqual([...range(0, 5), ...range(made - later, made)])
    expect(later).toBeGreaterThan(0)
    // Every record not delivered is counted as dropped, and no delivered one is.
    expect(sink.stats.droppedRecords).toBe(made - producer.delivered.length)
    expect(sink.stats.droppedRecords).toBeGreaterThan(0)
  })

  it('resends the in-flight records from the spool when the hanging send fails', async () => {
    const { sink, producer } = setup()
    producer.hang = true
    await sink.start()
    for (let i = 0; i < 5; i++) sink.enqueue(rec(i))
    await until('a send to hang', () => producer.hanging)
    await until('memory to move to the spool', () => sink.stats.spooledRecords === 5)
    sink.enqueue(rec(5))
    producer.settle(false)
    producer.up = true
    await until('everything to be sent', () => sink.stats.queuedRecords === 0)
    await sink.stop()
    expect(producer.delivered).toEqual(range(0, 6))
  })

  it('repeats a failed send with exactly the same records, so the idempotent producer can dedupe it', async () => {
    const { sink, producer } = setup()
    await sink.start()
    for (let i = 0; i < 5; i++) sink.enqueue(rec(i))
    await until('the failed send to spill memory', () => sink.stats.spooledRecords === 5)
    for (let i = 5; i < 9; i++) sink.enqueue(rec(i))
    producer.up = true
    await until('everything to be sent', () => sink.stats.queuedRecords === 0)
    await sink.stop()
    const attempts = producer.attempts
    expect(attempts[0]).toEqual(range(0, 5))
    // Every retry carried the first attempt's records, not the ones that arrived meanwhile.
    const firstOther = attempts.findIndex((a) => a.join() !== '0,1,2,3,4')
    expect(firstOther).toBeGreaterThanOrEqual(2)
    expect(attempts.slice(firstOther)).toEqual([range(5, 9)])
    expect(producer.delivered).toEqual(range(0, 9))
  })

  it('stops by its deadline while a send hangs, keeping the unanswered records in the spool', async () => {
    const { sink, producer, spool } = setup()
    producer.hang = true
    await sink.start()
    for (let i = 0; i < 4; i++) sink.enqueue(rec(i))
    await until('a send to hang', () => producer.hanging)
    const started = Date.now()
    await sink.stop(200)
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(spool.stats.records).toBe(4)
    // The abandoned send's late answer must not disturb the closed spool.
    producer.settle(true)
    await sleep(20)
  })

  it('starts a new producer id when the broker refuses the sequence, and sends on', async () => {
    const { sink, producer, producers } = setup()
    producer.up = true
    producer.failWith = 'OUT_OF_ORDER_SEQUENCE_NUMBER'
    await sink.start()
    for (let i = 0; i < 3; i++) sink.enqueue(rec(i))
    await until('everything to be sent', () => sink.stats.queuedRecords === 0)
    await sink.stop()
    expect(producers()).toBe(2)
    expect(producer.delivered).toEqual(range(0, 3))
  })

  it('keeps records it could not send at stop in the spool, and sends them first after a restart', async () => {
    const first = setup()
    await first.sink.start()
    for (let i = 0; i < 8; i++) first.sink.enqueue(rec(i))
    await first.sink.stop(300)
    expect(first.producer.delivered).toEqual([])
    const dir = dirs[0] ?? ''
    const producer = new ScriptedProducer()
    producer.up = true
    const spool = Spool.open({ dir, maxBytes: 1 << 20, fsync: 'never' })
    expect(spool.pendingRecords).toBe(8)
    const sink = kafkaSink(producer, spool)
    await sink.start()
    sink.enqueue(rec(100))
    await until('everything to be sent', () => sink.stats.queuedRecords === 0)
    await sink.stop()
    expect(producer.delivered).toEqual([...range(0, 8), 100])
  })
})
