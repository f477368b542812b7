import { CompressionTypes, type Kafka, type Producer } from 'kafkajs'
import type { Logger } from '#platform/logger.ts'
import type { RequestLimit, Transport } from './transport.ts'

export interface KafkaTransportOptions {
  kafka: Kafka
  topic: string
  /** Every message carries this key (`tenant/host`), so a host's records share one partition. */
  key: string
  logger: Logger
  /** Records are packed into Kafka messages of at most this many bytes (before compression). */
  maxMessageBytes: number
}

/**
 * Sends a batch as one produce request: records packed back to back into messages, gzip, through an
 * idempotent producer with acks from all in-sync replicas. Because the sink repeats a failed batch
 * with exactly the same records, the repeat packs into the same messages and the broker recognises it
 * by its sequence numbers if the first attempt was in fact written.
 */
export class KafkaTransport implements Transport {
  readonly describe = 'Kafka'
  /**
   * ~1 MB, under the broker's default message.max.bytes. One produce request carries every message of
   * the host's partition as one record batch, which the broker writes whole and in order.
   */
  readonly maxRequest: RequestLimit = { bytes: 1_000_000, perRecordBytes: 0 }
  private producer: Producer
  private connected = false

  constructor(private readonly o: KafkaTransportOptions) {
    this.producer = this.newProducer()
  }

  async connect(): Promise<void> {
    if (this.connected) return
    await this.producer.connect()
    this.connected = true
  }

  async send(records: Buffer[]): Promise<{ messages: number }> {
    const messages = this.pack(records)
    await this.producer.send({
      topic: this.o.topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages,
    })
    return { messages: messages.length }
  }

  close(): Promise<void> {
    return this.producer.disconnect()
  }

  afterFailure(err: unknown): undefined {
    if (isFatalToProducerId(err)) this.replaceProducer(err)
    return undefined
  }

  private newProducer(): Producer {
    const producer = this.o.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    })
    producer.on(producer.events.DISCONNECT, () => {
      if (producer === this.producer) this.connected = false
    })
    return producer
  }

  /**
   * The broker refuses this producer id's sequence for good (e.g. a repeat that could not carry the
   * same records after the spool's cap deleted them): only a new producer id gets sends through again.
   * Records the refused id may already have written can then be stored a second time.
   */
  private replaceProducer(err: unknown): void {
    const old = this.producer
    this.producer = this.newProducer()
    this.connected = false
    this.o.logger.warn(
      { err: String(err) },
      'Kafka refused the producer sequence; starting a new producer id',
    )
    void old.disconnect().catch(() => undefined)
  }

  private pack(records: Buffer[]): { key: string; value: Buffer }[] {
    const messages: { key: string; value: Buffer }[] = []
    let i = 0
    while (i < records.length) {
      const parts: Buffer[] = []
      let size = 0
      for (; i < records.length; i++) {
        const r = records[i] as Buffer
        if (size > 0 && size + r.length > this.o.maxMessageBytes) break
        parts.push(r)
        size += r.length
      }
      messages.push({
        key: this.o.key,
        value: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size),
      })
    }
    return messages
  }
}

const PRODUCER_ID_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
])

/** kafkajs throws protocol errors with their `type`, possibly wrapped as the `cause` of a retry error. */
function isFatalToProducerId(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const { type, cause } = e as { type?: unknown; cause?: unknown }
    if (typeof type === 'string' && PRODUCER_ID_ERRORS.has(type)) return true
    e = cause
  }
  return false
}
