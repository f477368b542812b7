import { CompressionTypes, type Producer, type ProducerRecord } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { IngestError } from './errors.ts'
import { KafkaWriter } from './kafka-writer.ts'

const logger = createLogger('kafka-writer-test', { level: 'silent' })

interface HeldSend {
  keys: string[]
  settle: (err?: Error) => void
}

/**
 * A producer whose sends wait until the test answers them, recording what each carried, in its own
 * list and in the writer's (every producer's sends in the order they were made).
 */
class HeldProducer {
  readonly sends: HeldSend[] = []
  constructor(private readonly all: HeldSend[]) {}
  connects = 0
  disconnects = 0
  connect(): Promise<void> {
    this.connects++
    return Promise.resolve()
  }
  disconnect(): Promise<void> {
    this.disconnects++
    return Promise.resolve()
  }
  send(record: ProducerRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      const send: HeldSend = {
        keys: record.messages.map((m) => String(m.key)),
        settle: (err) => {
          if (err) reject(err)
          else resolve()
        },
      }
      this.sends.push(send)
      this.all.push(send)
    })
  }
}

/** A kafkajs protocol error as the broker's answer surfaces it. */
function brokerError(type: string): Error {
  return Object.assign(new Error(`broker said ${type}`), { type, retriable: false })
}

const msg = (key: string, bytes = 1) => [{ key, value: Buffer.alloc(bytes, 1), timestamp: '0' }]
const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

async function writerWith(
  count: number,
  maxSendBytes = 1 << 20,
): Promise<{ writer: KafkaWriter; made: HeldProducer[]; sent: HeldSend[] }> {
  const made: HeldProducer[] = []
  const sent: HeldSend[] = []
  const writer = new KafkaWriter(
    () => {
      const p = new HeldProducer(sent)
      made.push(p)
      return p as unknown as Producer
    },
    count,
    't',
    { maxSendBytes, compression: CompressionTypes.None, logger },
  )
  await writer.start()
  return { writer, made, sent }
}

const allSends = (made: HeldProducer[]) => made.flatMap((p) => p.sends)

describe('KafkaWriter', () => {
  it('sends a lone request at once and coalesces requests that arrive while a send is in flight', async () => {
    const { writer, made } = await writerWith(1)
    const producer = made[0] as HeldProducer
    const settled: string[] = []
    const first = writer.write(msg('a')).then(() => settled.push('a'))
    const later = ['b', 'c', 'd'].map((k) => writer.write(msg(k)).then(() => settled.push(k)))
    expect(producer.sends.map((s) => s.keys)).toEqual([['a']])
    expect(writer.queuedBytes).toBeGreaterThan(0)
    producer.sends[0]?.settle()
    await first
    // The three waiting requests go as one produce request, and none is answered before it is acked.
    expect(producer.sends.map((s) => s.keys)).toEqual([['a'], ['b', 'c', 'd']])
    expect(settled).toEqual(['a'])
    producer.sends[1]?.settle()
    await Promise.all(later)
    expect(settled).toEqual(['a', 'b', 'c', 'd'])
    expect(writer.stats).toMatchObject({ sends: 2, messages: 4, failedSends: 0 })
  })

  it('fails the requests of a send that failed for no fault of theirs, and replaces the producer', async () => {
    const { writer, made } = await writerWith(1)
    const a = writer.write(msg('a'))
    const b = writer.write(msg('b'))
    const c = writer.write(msg('c'))
    made[0]?.sends[0]?.settle()
    await a
    // A lost connection: nobody is at fault, all of the send's requests get a retryable failure.
    made[0]?.sends[1]?.settle(new Error('Connection error: ECONNRESET'))
    await expect(b).rejects.toThrow('ECONNRESET')
    await expect(c).rejects.toThrow('ECONNRESET')
    // Its sequence numbers may be out of step: the next send goes through a new producer id.
    expect(made).toHaveLength(2)
    expect(made[0]?.disconnects).toBe(1)
    await tick()
    const d = writer.write(msg('d'))
    expect(made[1]?.sends.map((s) => s.keys)).toEqual([['d']])
    made[1]?.sends[0]?.settle()
    await d
    expect(writer.stats).toMatchObject({ sends: 2, failedSends: 1, producerResets: 1 })
  })

  it('after the broker refuses a shared send, sends each request again alone: only the one at fault fails', async () => {
    const { writer, made } = await writerWith(1)
    const first = writer.write(msg('first'))
    const good = writer.write(msg('good'))
    const bad = writer.write(msg('bad'))
    const other = writer.write(msg('other'))
    made[0]?.sends[0]?.settle()
    await first
    made[0]?.sends[1]?.settle(brokerError('CORRUPT_MESSAGE'))
    await tick()
    await tick()
    const next = made[1] as HeldProducer
    expect(next.sends.map((s) => s.keys)).toEqual([['good']])
    next.sends[0]?.settle()
    await good
    expect(next.sends.map((s) => s.keys)).toEqual([['good'], ['bad']])
    next.sends[1]?.settle(brokerError('CORRUPT_MESSAGE'))
    await expect(bad).rejects.toThrow('CORRUPT_MESSAGE')
    await tick()
    await tick()
    const last = made[2] as HeldProducer
    expect(last.sends.map((s) => s.keys)).toEqual([['other']])
    last.sends[0]?.settle()
    await other
  })

  it('answers a request the broker finds too large with 413, never a 503', async () => {
    const { writer, made } = await writerWith(1)
    const big = writer.write(msg('big'))
    made[0]?.sends[0]?.settle(brokerError('MESSAGE_TOO_LARGE'))
    const err = await big.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(IngestError)
    expect(err).toMatchObject({ code: 'RECORD_TOO_LARGE', statusCode: 413, retryable: false })
  })

  it('keeps each produce request under maxSendBytes and sends a large request’s parts one after another, each once the one before is acknowledged', async () => {
    // Four producers idle: sent side by side, a later part could land before an earlier one.
    const { writer, sent } = await writerWith(4, 10)
    // 4 bytes per message (key + value): two fit under 10.
    let done = false
    const whole = writer
      .write([...msg('k1', 2), ...msg('k2', 2), ...msg('k3', 2), ...msg('k4', 2), ...msg('k5', 2)])
      .then(() => (done = true))
    expect(sent.map((s) => s.keys)).toEqual([['k1', 'k2']])
    // The parts held back are accepted bytes waiting for Kafka, bounded like any other.
    expect(writer.queuedBytes).toBe(12)
    await tick()
    expect(sent).toHaveLength(1)
    sent[0]?.settle()
    await tick()
    expect(sent.map((s) => s.keys)).toEqual([
      ['k1', 'k2'],
      ['k3', 'k4'],
    ])
    sent[1]?.settle()
    await tick()
    expect(sent.map((s) => s.keys)).toEqual([['k1', 'k2'], ['k3', 'k4'], ['k5']])
    // Answered only once every part is acknowledged.
    expect(done).toBe(false)
    sent[2]?.settle()
    await whole
    expect(writer.queuedBytes).toBe(0)
  })

  it('sends the parts of different large requests side by side', async () => {
    const { writer, made } = await writerWith(2, 10)
    const [one, two] = made as [HeldProducer, HeldProducer]
    const a = writer.write([...msg('a1', 2), ...msg('a2', 2), ...msg('a3', 2), ...msg('a4', 2)])
    const b = writer.write([...msg('b1', 2), ...msg('b2', 2), ...msg('b3', 2), ...msg('b4', 2)])
    const inFlight = (): string[][] => [one, two].flatMap((p) => p.sends.slice(-1).map((s) => s.keys))
    expect(inFlight().sort()).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ])
    // b's first part acknowledged before a's: b goes on, a's second part still waits for its first.
    const bProducer = one.sends[0]?.keys[0] === 'b1' ? one : two
    const aProducer = bProducer === one ? two : one
    bProducer.sends[0]?.settle()
    await tick()
    expect(bProducer.sends.map((s) => s.keys)).toEqual([
      ['b1', 'b2'],
      ['b3', 'b4'],
    ])
    expect(aProducer.sends).toHaveLength(1)
    aProducer.sends[0]?.settle()
    await tick()
    expect(aProducer.sends.map((s) => s.keys)).toEqual([
      ['a1', 'a2'],
      ['a3', 'a4'],
    ])
    aProducer.sends[1]?.settle()
    bProducer.sends[1]?.settle()
    await Promise.all([a, b])
  })

  it('ends a large request at its first failed part: nothing after it is sent, so what it wrote is a prefix its resend repeats', async () => {
    const { writer, sent } = await writerWith(2, 10)
    const whole = writer.write([
      ...msg('k1', 2),
      ...msg('k2', 2),
      ...msg('k3', 2),
      ...msg('k4', 2),
      ...msg('k5', 2),
    ])
    sent[0]?.settle()
    await tick()
    sent[1]?.settle(new Error('Connection error: ECONNRESET'))
    await expect(whole).rejects.toThrow('ECONNRESET')
    await tick()
    await tick()
    expect(sent.map((s) => s.keys)).toEqual([
      ['k1', 'k2'],
      ['k3', 'k4'],
    ])
    expect(writer.queuedBytes).toBe(0)
    // The writer goes on with the next request.
    const next = writer.write(msg('n'))
    expect(sent.map((s) => s.keys)).toEqual([['k1', 'k2'], ['k3', 'k4'], ['n']])
    sent[2]?.settle()
    await next
  })

  it('keeps one send in flight per producer, and a freed producer takes what waited meanwhile', async () => {
    const { writer, made } = await writerWith(2)
    const [one, two] = made as [HeldProducer, HeldProducer]
    const a = writer.write(msg('a'))
    void writer.write(msg('b'))
    void writer.write(msg('c'))
    void writer.write(msg('d'))
    // Two sends at once, one per producer; c and d wait for whichever is free first.
    expect([...one.sends, ...two.sends].map((s) => s.keys).sort()).toEqual([['a'], ['b']])
    const first = two.sends[0]?.keys[0] === 'a' ? two : one
    first.sends[0]?.settle()
    await a
    expect(first.sends.map((s) => s.keys)).toEqual([['a'], ['c', 'd']])
    expect(allSends(made)).toHaveLength(3)
  })
})
