import type { FastifyInstance } from 'fastify'
import type { Kafka } from 'kafkajs'
import type { NatsConnection } from 'nats'
import { errorMessage } from '#platform/errors.ts'
import { connectNats } from '#platform/nats-client.ts'
import type { Authenticator } from '#platform/auth/authenticator.ts'
import type { ReadinessCheck } from '#platform/health-routes.ts'
import type { Logger } from '#platform/logger.ts'
import { AdmissionRule } from '#schemas/src/admission.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { IngestConfig } from './config.ts'
import { KafkaWriter } from './kafka-writer.ts'
import { buildIngestGateway } from './server.ts'
import { ControlRelay } from './control-relay.ts'

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
  /**
   * A connection with the service credential to share (npm start has one). Without it, the gateway
   * connects by itself when config.nats is set, and closes that connection when it stops.
   */
  nats?: NatsConnection | undefined
}): Promise<RunningGateway> {
  const { config } = o
  const writer = new KafkaWriter(
    () => o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
    config.kafkaProducers,
    config.topic,
    // One record's limit per produce request: no partition's batch can pass the broker's limit.
    { maxSendBytes: config.maxMessageBytes, compression: config.kafkaCompression, logger: o.logger },
  )
  const disconnect = (): Promise<void> => writer.stop()
  await writer.start()
  const control = new ControlRelay(
    config.control,
    o.logger,
    o.nats !== undefined || config.nats !== undefined,
  )
  let ownNats: Promise<NatsConnection | undefined> = Promise.resolve(undefined)
  if (o.nats !== undefined) control.attach(o.nats)
  else if (config.nats !== undefined) {
    // In the background and without a reconnect limit: samples must flow while NATS is away, and
    // control comes back (503 until then) without a restart.
    ownNats = connectNats(config.nats, 'procstream-ingest', {
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
    })
      .then((nc) => {
        control.attach(nc)
        return nc
      })
      .catch((err: unknown) => {
        o.logger.error(
          { error: errorMessage(err) },
          'no NATS connection: live control through the gateway is off (503) until it restarts',
        )
        return undefined
      })
  }
  const codec = envelopeCodec()
  const app = buildIngestGateway({
    auth: o.auth,
    codec,
    writer,
    logger: o.logger,
    readiness: o.readiness,
    limits: config.limits,
    maxBodyBytes: config.maxBodyBytes,
    maxDecodedBytes: config.maxDecodedBytes,
    maxMessageBytes: config.maxMessageBytes,
    admission: new AdmissionRule(codec.readerType, config.admission),
    maxQueuedBytes: config.maxQueuedBytes,
    maxConcurrentRequests: config.maxConcurrentRequests,
    requestTimeoutMs: config.requestTimeoutMs,
    control,
    tls: config.tls,
  })
  const closeNats = async (): Promise<void> => {
    control.close()
    // A connection still being made (NATS away) must not hold the stop up for ever.
    const nc = await Promise.race([
      ownNats,
      new Promise<undefined>((r) =>
        setTimeout(() => {
          r(undefined)
        }, 1000),
      ),
    ])
    await nc?.close()
  }
  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (err) {
    await closeNats()
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
        // Polls in flight end first (503): the server waits for open requests before it closes.
        control.close()
        await app.close()
        await closeNats()
        await disconnect()
      })()),
  }
}
