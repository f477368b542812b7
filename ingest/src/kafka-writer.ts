import { CompressionTypes, type Producer } from 'kafkajs'
import { errorMessage } from '#platform/errors.ts'
import type { Logger } from '#platform/logger.ts'
import { IngestError } from './errors.ts'
import type { KafkaMessage } from './tenant-records.ts'
import { doubled } from '#platform/backoff.ts'
import { sleep } from '#platform/time.ts'

/** One request waiting for its messages to be acknowledged, possibly over several sends. */
interface Waiter {
  /**
   * The request's chunks after the one queued or in flight, in order. Each is queued only once the one
   * before it is acknowledged: on parallel producers a later chunk could land first, and the
   * processors would drop the earlier one's records as resends (a lower seq of the same agent).
   */
  rest: Chunk[]
  failed: boolean
  resolve: () => void
  reject: (err: unknown) => void
}

/** Some of one request's messages, at most maxSendBytes; a send carries one or more chunks. */
interface Chunk {
  waiter: Waiter
  messages: KafkaMessage[]
  bytes: number
  /** Sent in a produce request of its own: after a refused send, so one request cannot cost another. */
  alone: boolean
}

export interface KafkaWriterStats {
  sends: number
  messages: number
  failedSends: number
  /** Producers replaced by a new producer id after a failed send. */
  producerResets: number
  /** Seconds spent waiting for acknowledgements, summed over sends. */
  sendSeconds: number
}

export interface KafkaWriterOptions {
  /**
   * Bound on the messages' bytes (before compression) of one produce request. kafkajs puts every
   * message of a partition into one record batch per request, and the broker refuses a batch over
   * its message.max.bytes: so this is the largest message (MAX_RECORD_BYTES), which keeps every batch
   * under the broker's limit even when compression cannot shrink it.
   */
  maxSendBytes: number
  compression: CompressionTypes
  logger: Logger
}

/** Broker error codes meaning a message or a batch was over the broker's size limit. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])
const RECONNECT_MIN_MS = 200
const RECONNECT_MAX_MS = 5_000

/**
 * Produces the messages of many concurrent requests together. While every producer has a produce
 * request in flight, the messages of requests arriving meanwhile wait and then go as one send (group
 * commit): under load each produce request carries many HTTP requests' records, and a lone request
 * still goes at once. A request's promise settles once every send that carried its messages did, so a
 * 202 always means "acknowledged by all in-sync replicas".
 *
 * Each producer is idempotent, which kafkajs allows only with one request in flight, so retries inside
 * kafkajs never duplicate; throughput comes from several producers, each with its own producer id.
 *
 * Sends on different producers may land in either order, and the processors drop a record whose seq is
 * at or below the highest stored for its agent, taking it for a resend: so one host's records must
 * land in the order sent. A request over maxSendBytes is cut into chunks, and its chunks go one after
 * another, each once the one before it is acknowledged (a failed chunk ends the request: nothing after
 * it is sent, so what a failed request wrote is a prefix of it, which its resend repeats). Different
 * requests go side by side, even when they are of one host, and need no order between them: a client
 * sends a host's next request only after the answer to the last (the agent does; two requests sent at
 * once have no order the gateway could keep, they race through reading and decoding), and a request it
 * gave up on (a timeout) that is still here holds only records it sent again, in order, before any
 * newer one: what lands late of it is a repeat the processors drop.
 *
 * A failed send costs nobody else anything:
 * - The producer that made it is replaced by a new one (a new producer id). kafkajs rolls back the
 *   sequence numbers of every partition of a refused produce request, also of partitions the broker
 *   did write; the next batch to such a partition would reuse a sequence, and the broker would answer
 *   it as a duplicate without writing it (a 202 for records never stored) or refuse it as out of order.
 * - When the broker refused it for what it held (a protocol error, e.g. one partition's batch too
 *   large), the requests it carried are sent again each on its own, so only the request at fault
 *   fails. What the refused send did write is then written again under the new producer id; the
 *   processors drop the repeat by the agents' sequence numbers, as for any resend.
 */
export class KafkaWriter {
  private queue: Chunk[] = []
  private queueBytes = 0
  private readonly idle: Producer[] = []
  /** Every producer this writer holds, connected or connecting, to disconnect at stop. */
  private readonly producers = new Set<Producer>()
  /** Producers connected (idle or sending). */
  private live = 0
  private closed = false
  readonly stats: KafkaWriterStats = {
    sends: 0,
    messages: 0,
    failedSends: 0,
    producerResets: 0,
    sendSeconds: 0,
  }

  constructor(
    private readonly createProducer: () => Producer,
    private readonly slots: number,
    private readonly topic: string,
    private readonly o: KafkaWriterOptions,
  ) {
    if (slots < 1) throw new Error('KafkaWriter needs at least one producer')
  }

  /** Connects every producer; throws (with none left connected) if one cannot connect. */
  async start(): Promise<void> {
    const made = Array.from({ length: this.slots }, () => this.createProducer())
    for (const p of made) this.producers.add(p)
    try {
      await Promise.all(made.map((p) => p.connect()))
    } catch (err) {
      await this.stop()
      throw err
    }
    this.idle.push(...made)
    this.live = made.length
  }

  async stop(): Promise<void> {
    this.closed = true
    const gone = new Error('the gateway is stopping')
    this.dropQueue(gone)
    await Promise.all([...this.producers].map((p) => p.disconnect().catch(() => undefined)))
    this.producers.clear()
  }

  write(messages: KafkaMessage[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed || this.live === 0) {
        reject(new Error(this.closed ? 'the gateway is stopping' : 'no producer is connected to Kafka'))
        return
      }
      const waiter: Waiter = { rest: [], failed: false, resolve, reject }
      const chunks: Chunk[] = []
      let current: Chunk | undefined
      for (const m of messages) {
        const size = m.value.length + m.key.length
        if (!current || (current.messages.length > 0 && current.bytes + size > this.o.maxSendBytes)) {
          current = { waiter, messages: [], bytes: 0, alone: false }
          chunks.push(current)
        }
        current.messages.push(m)
        current.bytes += size
      }
      const [first, ...rest] = chunks
      if (!first) {
        resolve()
        return
      }
      waiter.rest = rest
      // The chunks held back count as queued too: they are accepted bytes waiting for Kafka.
      for (const c of chunks) this.queueBytes += c.bytes
      this.queue.push(first)
      this.pump()
    })
  }

  /**
   * Bytes of accepted requests not yet in a send (waiting for a producer, or for their chunk before to
   * be acknowledged): what the gateway holds in memory beyond in-flight sends.
   */
  get queuedBytes(): number {
    return this.queueBytes
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const batch: Chunk[] = []
      let bytes = 0
      while (this.queue.length > 0) {
        const next = this.queue[0] as Chunk
        if (batch.length > 0 && (next.alone || bytes + next.bytes > this.o.maxSendBytes)) break
        batch.push(next)
        bytes += next.bytes
        this.queue.shift()
        this.queueBytes -= next.bytes
        if (next.alone) break
      }
      if (batch.length === 0) return
      void this.send(this.idle.pop() as Producer, batch)
    }
  }

  private async send(producer: Producer, batch: Chunk[]): Promise<void> {
    const started = performance.now()
    const messages = batch.length === 1 ? (batch[0] as Chunk).messages : batch.flatMap((c) => c.messages)
    try {
      await producer.send({ topic: this.topic, acks: -1, compression: this.o.compression, messages })
      this.stats.sends++
      this.stats.messages += messages.length
      this.idle.push(producer)
      const following: Chunk[] = []
      for (const { waiter } of batch) {
        const next = waiter.rest.shift()
        if (!next) waiter.resolve()
        else if (this.closed) this.fail(waiter, new Error('the gateway is stopping'))
        else following.push(next)
      }
      // Ahead of requests that arrived after these, as the requests' first chunks were.
      this.queue.unshift(...following)
    } catch (err) {
      this.stats.failedSends++
      this.replace(producer, err)
      const waiters = new Set(batch.map((c) => c.waiter))
      if (waiters.size > 1 && brokerRefused(err)) {
        // Again, each request's chunk on its own and first in line: only the one at fault fails.
        for (const c of batch) c.alone = true
        this.queue.unshift(...batch)
        for (const c of batch) this.queueBytes += c.bytes
      } else for (const w of waiters) this.fail(w, refusal(err))
    } finally {
      this.stats.sendSeconds += (performance.now() - started) / 1000
      this.pump()
    }
  }

  /** A method, not the field: the field's value changes across the awaits of the reconnect loop. */
  private isClosed(): boolean {
    return this.closed
  }

  /**
   * Fails every queued request. A request with a chunk in flight keeps its held-back chunks counted
   * until that send settles, and is failed then.
   */
  private dropQueue(err: unknown): void {
    for (const c of this.queue) {
      this.queueBytes -= c.bytes
      this.fail(c.waiter, err)
    }
    this.queue = []
  }

  /** Fails a request; its chunks not yet sent never will be. */
  private fail(w: Waiter, err: unknown): void {
    if (w.failed) return
    w.failed = true
    for (const c of w.rest) this.queueBytes -= c.bytes
    w.rest = []
    w.reject(err)
  }

  /**
   * A new producer id in place of one whose send failed, connected in the background with back-off.
   * While none is connected, requests are answered 503 at once rather than held.
   */
  private replace(old: Producer, err: unknown): void {
    this.stats.producerResets++
    this.live--
    this.producers.delete(old)
    void old.disconnect().catch(() => undefined)
    this.o.logger.warn(
      { err: errorMessage(err) },
      'a Kafka send failed; its producer is replaced by a new producer id',
    )
    void (async () => {
      let delay = RECONNECT_MIN_MS
      while (!this.closed) {
        const next = this.createProducer()
        this.producers.add(next)
        try {
          await next.connect()
          if (this.isClosed()) {
            // Stopped while it connected: it must not outlive the writer.
            await next.disconnect().catch(() => undefined)
            return
          }
          this.live++
          this.idle.push(next)
          this.pump()
          return
        } catch (connectErr) {
          this.producers.delete(next)
          void next.disconnect().catch(() => undefined)
          if (this.live === 0) {
            // Nobody can send these: a quick 503 lets the agents keep them in their spools.
            this.dropQueue(connectErr)
          }
          await sleep(delay)
          delay = doubled(delay, RECONNECT_MAX_MS)
        }
      }
    })()
  }
}

/** kafkajs throws protocol errors with their `type`, possibly wrapped as the `cause` of a retry error. */
function protocolErrorType(err: unknown): string | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const { type, cause } = e as { type?: unknown; cause?: unknown }
    if (typeof type === 'string') return type
    e = cause
  }
  return undefined
}

/** The broker answered and refused what the request held (not a lost connection or a timeout). */
function brokerRefused(err: unknown): boolean {
  const type = protocolErrorType(err)
  return type !== undefined && type !== 'REQUEST_TIMED_OUT'
}

/** What a request whose send failed is answered: 413 if the broker found it too large, else the error (503). */
function refusal(err: unknown): unknown {
  const type = protocolErrorType(err)
  if (type !== undefined && TOO_LARGE.has(type))
    return new IngestError(
      'RECORD_TOO_LARGE',
      `Kafka refused this request's records as too large (${type}): its message.max.bytes is below this gateway's record limit; send smaller records, resending these cannot help`,
      { cause: err },
    )
  return err
}
