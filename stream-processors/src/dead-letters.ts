import { CompressionTypes, type IHeaders, type Kafka, type Producer } from 'kafkajs'
import type { RejectReason } from './admission.ts'

/** A payload the processor will not store, with where it came from and why. */
export interface DeadLetter {
  /** The original message value (undecodable) or the refused envelope, single-object encoded. */
  value: Buffer
  key: Buffer | null
  reason: RejectReason
  detail: string
  source: { topic: string; partition: number; offset: string }
}

/** Header names on the dead-letter topic; documented in stream-processors/README.md. */
export const DEAD_LETTER_HEADERS = {
  reason: 'procstream-reason',
  detail: 'procstream-detail',
  topic: 'procstream-source-topic',
  partition: 'procstream-source-partition',
  offset: 'procstream-source-offset',
} as const

const MAX_DETAIL_BYTES = 1024

/**
 * Sends refused payloads to the dead-letter topic before the offsets of their chunk are committed,
 * so none is lost. At least once: a chunk replayed after a crash sends its dead letters again, and a
 * consumer of the topic can tell repeats by the source partition and offset headers.
 */
export class DeadLetterSink {
  private readonly producer: Producer

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    })
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
    await this.producer.connect()
  }

  async stop(): Promise<void> {
    await this.producer.disconnect()
  }

  async send(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: letters.map((l) => ({ key: l.key, value: l.value, headers: headersOf(l) })),
    })
  }
}

function headersOf(l: DeadLetter): IHeaders {
  return {
    [DEAD_LETTER_HEADERS.reason]: l.reason,
    [DEAD_LETTER_HEADERS.detail]: Buffer.from(l.detail, 'utf8').subarray(0, MAX_DETAIL_BYTES),
    [DEAD_LETTER_HEADERS.topic]: l.source.topic,
    [DEAD_LETTER_HEADERS.partition]: String(l.source.partition),
    [DEAD_LETTER_HEADERS.offset]: l.source.offset,
  }
}
