import { Kafka, logLevel, type SASLOptions } from 'kafkajs'
import type { KafkaSecurity } from '#platform/kafka-security.ts'
import { waitFor } from './wait-for.ts'

export interface TopicMessage {
  partition: number
  key: string
  value: Buffer
}

function client(brokers: string[], security: KafkaSecurity = {}): Kafka {
  return new Kafka({
    clientId: 'test-topic-reader',
    brokers,
    logLevel: logLevel.NOTHING,
    ...(security.sasl && { sasl: { ...security.sasl } as SASLOptions }),
  })
}

/** How many messages the topic holds: the sum of its partitions' high watermarks. */
export async function topicEnd(brokers: string[], topic: string, security?: KafkaSecurity): Promise<number> {
  const admin = client(brokers, security).admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.reduce((n, p) => n + Number(p.high), 0)
  } finally {
    await admin.disconnect()
  }
}

/** Every message in the topic, per partition in offset order, read by a fresh consumer group. */
export async function readTopic(brokers: string[], topic: string): Promise<TopicMessage[]> {
  const end = await topicEnd(brokers, topic)
  const messages: TopicMessage[] = []
  if (end === 0) return messages
  const consumer = client(brokers).consumer({
    groupId: `test-reader-${String(Date.now())}-${String(Math.random())}`,
  })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        messages.push({
          partition,
          key: message.key?.toString('utf8') ?? '',
          value: message.value ?? Buffer.alloc(0),
        })
        return Promise.resolve()
      },
    })
    await waitFor(`all ${String(end)} messages of ${topic}`, () =>
      Promise.resolve(messages.length >= end ? true : undefined),
    )
  } finally {
    await consumer.disconnect()
  }
  return messages
}
