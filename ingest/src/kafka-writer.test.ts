import { CompressionTypes, type Producer, type ProducerRecord } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { KafkaWriter } from './kafka-writer.ts'

/** A producer whose sends wait until the test answers them, recording what each carried. */
class HeldProducer {
  readonly sends: { keys: string[]; settle: (err?: Error) => void }[] = []
  send(record: ProducerRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sends.push({
        keys: record.messages.map((m) => String(m.key)),
        settle: (err) => {
          if (err) reject(err)
          else resolve()
        },
      })
    })
  }
}

const msg = (key: string) => [{ key, value: Buffer.from(key) }]

describe('KafkaWriter', () => {
  it('sends a lone request at once and coalesces requests that arrive while a send is in flight', async () => {
    const producer = new HeldProducer()
    const writer = new KafkaWriter([producer as unknown as Producer], 't', {
      maxSendBytes: 1 << 20,
      compression: CompressionTypes.None,
    })
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

  it('fails every request of a failed send, and goes on with the next ones', async () => {
    const producer = new HeldProducer()
    const writer = new KafkaWriter([producer as unknown as Producer], 't', {
      maxSendBytes: 1 << 20,
      compression: CompressionTypes.None,
    })
    const a = writer.write(msg('a'))
    const b = writer.write(msg('b'))
    const c = writer.write(msg('c'))
    producer.sends[0]?.settle()
    await a
    producer.sends[1]?.settle(new Error('NOT_ENOUGH_REPLICAS'))
    await expect(b).rejects.toThrow('NOT_ENOUGH_REPLICAS')
    await expect(c).rejects.toThrow('NOT_ENOUGH_REPLICAS')
    const d = writer.write(msg('d'))
    producer.sends[2]?.settle()
    await d
    expect(writer.stats).toMatchObject({ sends: 2, failedSends: 1 })
  })

  it('keeps each produce request under maxSendBytes', () => {
    const producer = new HeldProducer()
    const writer = new KafkaWriter([producer as unknown as Producer], 't', {
      maxSendBytes: 10,
      compression: CompressionTypes.None,
    })
    for (const k of ['k1', 'k2', 'k3', 'k4', 'k5']) void writer.write(msg(k))
    producer.sends[0]?.settle()
    return new Promise<void>((done) => {
      setImmediate(() => {
        // 4 bytes per message (key + value): two fit under 10, then the next send.
        expect(producer.sends.map((s) => s.keys)).toEqual([['k1'], ['k2', 'k3']])
        done()
      })
    })
  })

  it('keeps one send in flight per producer, and a freed producer takes what waited meanwhile', async () => {
    const one = new HeldProducer()
    const two = new HeldProducer()
    const writer = new KafkaWriter([one, two] as unknown as Producer[], 't', {
      maxSendBytes: 1 << 20,
      compression: CompressionTypes.None,
    })
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
  })
})
