import type { FastifyInstance } from 'fastify'
import type { Kafka } from 'kafkajs'
import type { Authenticator } from '../../platform/auth/authenticator.ts'
import type { ReadinessCheck } from '../../platform/health-routes.ts'
import type { Logger } from '../../platform/logger.ts'
import { envelopeCodec } from '../../schemas/src/codec.ts'
import type { IngestConfig } from './config.ts'
import { KafkaWriter } from './kafka-writer.ts'
import { buildIngestGateway } from './server.ts'

export interface RunningGateway {
  app: FastifyInstance
  url: string
  stop(): Promise<void>
}

/** The gateway listening, with its producer connected; used by ingest/src/main.ts and npm start. */
export async function startIngestGateway(o: {
  config: IngestConfig
  kafka: Kafka
  auth: Authenticator
  logger: Logger
  readiness: ReadinessCheck[]
}): Promise<RunningGateway> {
  const { config } = o
  const producers = Array.from({ length: config.kafkaProducers }, () =>
    o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
  )
  const disconnect = (): Promise<unknown> => Promise.all(producers.map((p) => p.disconnect()))
  try {
    await Promise.all(producers.map((p) => p.connect()))
  } catch (err) {
    await disconnect()
    throw err
  }
  const writer = new KafkaWriter(producers, config.topic, {
    maxSendBytes: 8 * 1024 * 1024,
    compression: config.kafkaCompression,
  })
  const app = buildIngestGateway({
    auth: o.auth,
    codec: envelopeCodec(),
    writer,
    logger: o.logger,
    readiness: o.readiness,
    limits: config.limits,
    maxBodyBytes: config.maxBodyBytes,
    maxDecodedBytes: config.maxDecodedBytes,
    maxMessageBytes: config.maxMessageBytes,
    maxQueuedBytes: config.maxQueuedBytes,
    tls: config.tls,
  })
  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    await disconnect()
    throw err
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  let stopped: Promise<void> | undefined
  return {
    app,
    url: `${config.tls ? 'https' : 'http'}://${config.host}:${String(port)}`,
    // Idempotent: a test (or a signal handler) may stop it before its owner does.
    stop: () =>
      (stopped ??= (async () => {
        await app.close()
        await disconnect()
      })()),
  }
}
