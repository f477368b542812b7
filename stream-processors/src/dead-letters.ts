import { createHash } from 'node:crypto'
import { CompressionTypes, type IHeaders, type Kafka, type Producer } from 'kafkajs'
import { MAX_RECORD_BYTES } from '#schemas/src/admission.ts'
import type { RejectReason } from './admission.ts'

/** A payload the processor will not store, with where it came from and why. */
export interface DeadLetter {
  /** The raw bytes as they arrived: the whole message value (undecodable) or the refused record. */
  value: Buffer
  key: Buffer | null
  /** The tenant the message KEY names (`tenant/host`), never the payload's claim; '' without a usable key. */
  tenant: string
  reason: RejectReason
  detail: string
  source: { topic: string; partition: number; offset: string }
}

/** Header names on the dead-letter topic; documented in stream-processors/README.md. */
export const DEAD_LETTER_HEADERS = {
  reason: 'procstream-reason',
  detail: 'procstream-detail',
  tenant: 'procstream-tenant',
  topic: 'procstream-source-topic',
  partition: 'procstream-source-partition',
  offset: 'procstream-source-offset',
  /** Set only when the value was cut to MAX_LETTER_VALUE_BYTES: the original length and SHA-256. */
  valueBytes: 'procstream-value-bytes',
  valueSha256: 'procstream-value-sha256',
} as const

const MAX_DETAIL_BYTES = 1024
const MAX_KEY_BYTES = 1024
/**
 * A dead letter must always be writable, whatever arrived: a compressed source message can hold far
 * more than the broker's message limit once decompressed. A value over a record's limit is kept as its
 * first MAX_RECORD_BYTES (with its full length and hash in headers), so every letter and every
 * produce batch of letters stays under the broker's default message.max.bytes even incompressible.
 */
export const MAX_LETTER_VALUE_BYTES = MAX_RECORD_BYTES
const MAX_BATCH_BYTES = MAX_RECORD_BYTES

/**
 * Sends refused payloads to the dead-letter topic before the offsets of their chunk are committed,
 * so none is lost. At least once: a chunk replayed after a crash sends its dead letters again, and a
 * consumer of the topic can tell repeats by the source partition and offset headers.
 */
export class DeadLetterSink {
  private producer: Producer
  private connected = false

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
  ) {
    this.producer = this.newProducer()
  }

  /**
   * Creates the topic when it does not exist yet (one partition, the broker's default replication and
   * retention): a processor that could not dead-letter would have to stop its partitions instead.
   */
  async start(): Promise<void> {
    const admin = this.kafka.admin()
    await admin.connect()
    try {
      if (!(await admin.listTopics()).includes(this.topic)) {
        await admin.createTopics({ topics: [{ topic: this.topic, numPartitions: 1 }], waitForLeaders: true })
      }
    } finally {
      await admin.disconnect()
    }
    await this.connect()
  }

  async stop(): Promise<void> {
    await this.producer.disconnect()
  }

  /**
   * Every letter acknowledged by all in-sync replicas, or a throw. Letters go in produce requests of
   * at most MAX_BATCH_BYTES, so one large letter never makes a batch the broker refuses. After a
   * failure the idempotent producer's sequence numbers may be out of step with the broker (kafkajs
   * rolls them back for every partition of a refused request, written or not), so the next attempt
   * uses a new producer id rather than risk the broker taking a letter for a repeat and dropping it.
   */
  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return
    try {
      await this.connect()
      for (const batch of batches(letters.map(toMessage))) {
        await this.producer.send({
          topic: this.topic,
          acks: -1,
          compression: CompressionTypes.GZIP,
          messages: batch.map(({ key, value, headers }) => ({ key, value, headers })),
        })
      }
    } catch (err) {
      const old = this.producer
      this.producer = this.newProducer()
      this.connected = false
      await old.disconnect().catch(() => undefined)
      throw err
    }
  }

  private async connect(): Promise<void> {
    if (this.connected) return
    await this.producer.connect()
    this.connected = true
  }

  private newProducer(): Producer {
    return this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  }
}

interface LetterMessage {
  key: Buffer | null
  value: Buffer
  headers: IHeaders
  size: number
}

function toMessage(l: DeadLetter): LetterMessage {
  const headers: IHeaders = {
    [DEAD_LETTER_HEADERS.reason]: l.reason,
    [DEAD_LETTER_HEADERS.detail]: Buffer.from(l.detail, 'utf8').subarray(0, MAX_DETAIL_BYTES),
    [DEAD_LETTER_HEADERS.tenant]: Buffer.from(l.tenant, 'utf8').subarray(0, MAX_KEY_BYTES),
    [DEAD_LETTER_HEADERS.topic]: l.source.topic,
    [DEAD_LETTER_HEADERS.partition]: String(l.source.partition),
    [DEAD_LETTER_HEADERS.offset]: l.source.offset,
  }
  let value = l.value
  if (value.length > MAX_LETTER_VALUE_BYTES) {
    headers[DEAD_LETTER_HEADERS.valueBytes] = String(value.length)
    headers[DEAD_LETTER_HEADERS.valueSha256] = createHash('sha256').update(value).digest('hex')
    value = value.subarray(0, MAX_LETTER_VALUE_BYTES)
  }
  // A key is a direct producer's choice and may be anything: cut, it still names the tenant first.
  const key = l.key && l.key.length > MAX_KEY_BYTES ? l.key.subarray(0, MAX_KEY_BYTES) : l.key
  return { key, value, headers, size: value.length + (key?.length ?? 0) + 2 * MAX_DETAIL_BYTES }
}

function batches(messages: LetterMessage[]): LetterMessage[][] {
  const out: LetterMessage[][] = []
  let current: LetterMessage[] = []
  let bytes = 0
  for (const m of messages) {
    if (current.length > 0 && bytes + m.size > MAX_BATCH_BYTES) {
      out.push(current)
      current = []
      bytes = 0
    }
    current.push(m)
    bytes += m.size
  }
  if (current.length > 0) out.push(current)
  return out
}
