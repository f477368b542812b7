import { CompressionTypes, type Producer } from 'kafkajs'
import type { KafkaMessage } from './tenant-records.ts'

interface Waiter {
  messages: KafkaMessage[]
  bytes: number
  resolve: () => void
  reject: (err: unknown) => void
}

export interface KafkaWriterStats {
  sends: number
  messages: number
  failedSends: number
  /** Seconds spent waiting for acknowledgements, summed over sends. */
  sendSeconds: number
}

/**
 * Produces the messages of many concurrent requests together. While every producer has a produce
 * request in flight, the messages of requests arriving meanwhile wait and then go as one send (group
 * commit): under load each produce request carries many HTTP requests' records, and a lone request
 * still goes at once. A request's promise settles with the send that carried it, so a 202 always means
 * "acknowledged by all in-sync replicas".
 *
 * Each producer is idempotent, which kafkajs allows only with one request in flight, so retries inside
 * kafkajs never duplicate; throughput comes from several producers, each with its own producer id.
 * Sends on different producers may land in either order, which no reader depends on: one agent sends
 * its next request only after the 202 of the last, so one host's records are never in two sends at once.
 */
export class KafkaWriter {
  private waiting: Waiter[] = []
  private waitingBytes = 0
  private readonly idle: Producer[]
  readonly stats: KafkaWriterStats = { sends: 0, messages: 0, failedSends: 0, sendSeconds: 0 }

  constructor(
    producers: Producer[],
    private readonly topic: string,
    private readonly o: { maxSendBytes: number; compression: CompressionTypes },
  ) {
    if (producers.length === 0) throw new Error('KafkaWriter needs at least one producer')
    this.idle = [...producers]
  }

  write(messages: KafkaMessage[]): Promise<void> {
    const bytes = messages.reduce((n, m) => n + m.value.length + m.key.length, 0)
    return new Promise((resolve, reject) => {
      this.waiting.push({ messages, bytes, resolve, reject })
      this.waitingBytes += bytes
      this.pump()
    })
  }

  private pump(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const batch: Waiter[] = []
      let bytes = 0
      while (this.waiting.length > 0) {
        const next = this.waiting[0] as Waiter
        if (batch.length > 0 && bytes + next.bytes > this.o.maxSendBytes) break
        batch.push(next)
        bytes += next.bytes
        this.waiting.shift()
      }
      this.waitingBytes -= bytes
      void this.send(this.idle.pop() as Producer, batch)
    }
  }

  private async send(producer: Producer, batch: Waiter[]): Promise<void> {
    const started = performance.now()
    const messages = batch.length === 1 ? (batch[0] as Waiter).messages : batch.flatMap((w) => w.messages)
    try {
      await producer.send({ topic: this.topic, acks: -1, compression: this.o.compression, messages })
      this.stats.sends++
      this.stats.messages += messages.length
      for (const w of batch) w.resolve()
    } catch (err) {
      this.stats.failedSends++
      for (const w of batch) w.reject(err)
    } finally {
      this.stats.sendSeconds += (performance.now() - started) / 1000
      this.idle.push(producer)
      this.pump()
    }
  }

  /** Bytes of requests waiting for a send slot: what the gateway holds in memory beyond in-flight sends. */
  get queuedBytes(): number {
    return this.waitingBytes
  }
}
