import { CompressionTypes, type Kafka, type Producer } from 'kafkajs'
import type { Logger } from '../../../platform/logger.ts'

export interface KafkaSinkOptions {
  kafka: Kafka
  topic: string
  key: string
  logger: Logger
  /** Records are packed into Kafka messages of at most this many bytes (before compression). */
  maxMessageBytes: number
  /** How long a record may wait for companions before its message is sent. */
  lingerMs: number
  /** Bound on queued, unacknowledged bytes; beyond it the oldest records are dropped and counted. */
  maxQueueBytes: number
}

export interface KafkaSinkStats {
  queuedRecords: number
  queuedBytes: number
  sentRecords: number
  sentMessages: number
  sentBytes: number
  sendErrors: number
  droppedRecords: number
}

const RETRY_MIN_MS = 250
const RETRY_MAX_MS = 5_000

/**
 * Batches single-object-encoded records into Kafka messages (records back to back in one value) and
 * sends them in order through an idempotent producer with acks from all in-sync replicas. Until a send
 * is acknowledged its records stay queued, so a broker outage delays data instead of losing it.
 */
export class KafkaSink {
  readonly stats: KafkaSinkStats = {
    queuedRecords: 0,
    queuedBytes: 0,
    sentRecords: 0,
    sentMessages: 0,
    sentBytes: 0,
    sendErrors: 0,
    droppedRecords: 0,
  }
  private readonly producer: Producer
  private readonly queue: Buffer[] = []
  private head = 0
  private timer: NodeJS.Timeout | undefined
  private sending: Promise<void> | undefined
  private retryDelay = RETRY_MIN_MS
  private stopped = false
  private connected = false

  constructor(private readonly o: KafkaSinkOptions) {
    this.producer = o.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    })
    this.producer.on(this.producer.events.DISCONNECT, () => {
      this.connected = false
    })
  }

  /** Connect now; if the broker is not there, sends keep trying to connect and records stay queued. */
  async start(): Promise<void> {
    await this.connect()
  }

  private async connect(): Promise<void> {
    if (this.connected) return
    await this.producer.connect()
    this.connected = true
  }

  enqueue(record: Buffer): void {
    this.queue.push(record)
    this.stats.queuedRecords++
    this.stats.queuedBytes += record.length
    // Records of a send in flight are never dropped: the cap may be exceeded by what arrives during one send.
    if (!this.sending)
      while (this.stats.queuedBytes > this.o.maxQueueBytes && this.head < this.queue.length) this.dropOldest()
    if (this.stats.queuedBytes >= this.o.maxMessageBytes) this.kick(0)
    else this.kick(this.o.lingerMs)
  }

  /** Send everything queued, waiting for acknowledgement (used at shutdown and by --once). */
  async flush(deadlineMs = 10_000): Promise<void> {
    const until = Date.now() + deadlineMs
    while (this.stats.queuedRecords > 0 && Date.now() < until) {
      await (this.sending ?? this.sendNow())
      if (this.stats.queuedRecords > 0)
        await new Promise((r) => setTimeout(r, Math.min(this.retryDelay, 200)))
    }
  }

  async stop(): Promise<void> {
    await this.flush()
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    await this.sending
    await this.producer.disconnect()
  }

  private kick(delayMs: number): void {
    if (this.stopped || this.sending || this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.sendNow()
    }, delayMs)
  }

  private sendNow(): Promise<void> {
    if (this.sending) return this.sending
    if (this.head >= this.queue.length) return Promise.resolve()
    this.sending = this.sendBatch().finally(() => {
      this.sending = undefined
      if (this.head < this.queue.length)
        this.kick(this.stats.sendErrors > 0 && this.retryDelay > RETRY_MIN_MS ? this.retryDelay : 0)
    })
    return this.sending
  }

  private async sendBatch(): Promise<void> {
    const messages: { key: string; value: Buffer }[] = []
    let i = this.head
    let records = 0
    let bytes = 0
    // At most ~1 MB per produce request keeps us under the broker's default message.max.bytes.
    while (i < this.queue.length && bytes < 1_000_000) {
      const parts: Buffer[] = []
      let size = 0
      while (i < this.queue.length) {
        const r = this.queue[i]
        if (!r || (size > 0 && size + r.length > this.o.maxMessageBytes)) break
        parts.push(r)
        size += r.length
        i++
      }
      messages.push({
        key: this.o.key,
        value: parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts, size),
      })
      records += parts.length
      bytes += size
    }
    try {
      await this.connect()
      await this.producer.send({
        topic: this.o.topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages,
      })
    } catch (err) {
      this.stats.sendErrors++
      this.o.logger.warn(
        { err: String(err), queued: this.stats.queuedRecords, retryInMs: this.retryDelay },
        'Kafka send failed; will retry',
      )
      this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS)
      return
    }
    this.retryDelay = RETRY_MIN_MS
    // Only records the broker acknowledged leave the queue.
    for (let k = this.head; k < i; k++) this.queue[k] = EMPTY
    this.head = i
    this.stats.sentRecords += records
    this.stats.sentMessages += messages.length
    this.stats.sentBytes += bytes
    this.stats.queuedRecords -= records
    this.stats.queuedBytes -= bytes
    this.compact()
  }

  private dropOldest(): void {
    const r = this.queue[this.head]
    if (!r) return
    this.queue[this.head] = EMPTY
    this.head++
    this.stats.queuedRecords--
    this.stats.queuedBytes -= r.length
    this.stats.droppedRecords++
    this.compact()
  }

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head)
      this.head = 0
    }
  }
}

const EMPTY = Buffer.alloc(0)
