import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify'
import { presentedKey, type Authenticator, type Principal } from '../../platform/auth/authenticator.ts'
import { AuthError, authErrorHeaders } from '../../platform/auth/errors.ts'
import type { Logger } from '../../platform/logger.ts'
import type { TlsFiles } from '../../platform/tls.ts'
import type { EnvelopeCodec } from '../../schemas/src/codec.ts'
import { healthRoutes, type ReadinessCheck } from '../../platform/health-routes.ts'
import { AVRO_CONTENT_TYPES, decodeBody } from './body.ts'
import { IngestError } from './errors.ts'
import type { KafkaWriter } from './kafka-writer.ts'
import { IngestMetrics } from './metrics.ts'
import { TenantRateLimiter, type RateLimits } from '../../platform/rate-limit.ts'
import { tenantBatch } from './tenant-records.ts'

export interface IngestGatewayDeps {
  auth: Authenticator
  codec: EnvelopeCodec
  writer: KafkaWriter
  logger: Logger
  readiness: ReadinessCheck[]
  limits: RateLimits
  maxBodyBytes: number
  maxDecodedBytes: number
  maxMessageBytes: number
  maxQueuedBytes: number
  tls?: TlsFiles | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

/**
 * `POST /v1/ingest`: bearer key (ingest scope) → tenant; body of Avro single-object records, as sent or
 * gzip/zstd; every record checked before anything is produced; produced under the key's tenant and
 * answered 202 only once Kafka's in-sync replicas have it.
 */
export function buildIngestGateway(deps: IngestGatewayDeps): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = deps.logger
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.maxBodyBytes,
    ...(deps.tls && { https: { cert: deps.tls.cert, key: deps.tls.key } }),
  }) as unknown as FastifyInstance
  const metrics = new IngestMetrics()
  const limiter = new TenantRateLimiter(deps.limits)

  // Only Avro: fastify's JSON and text parsers would let other bodies reach the route.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser([...AVRO_CONTENT_TYPES], { parseAs: 'buffer' }, (_req, body, done) => {
    done(null, body)
  })
  app.addHook('onResponse', (req, reply, done) => {
    if (req.routeOptions.url === '/v1/ingest') metrics.answered(reply.statusCode)
    done()
  })
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof IngestError || err instanceof AuthError) {
      if (err instanceof IngestError && err.retryAfterS !== undefined)
        void reply.header('retry-after', String(err.retryAfterS))
      if (err instanceof AuthError) void reply.headers(authErrorHeaders(err))
      return reply.code(err.statusCode).send({ error: err.message, code: err.code })
    }
    const e = err as { statusCode?: unknown; code?: unknown; message?: unknown }
    const status = typeof e.statusCode === 'number' ? e.statusCode : 500
    if (status >= 500) {
      req.log.error({ err }, 'ingest request failed')
      return reply.code(status).send({ error: 'internal error', code: 'INTERNAL' })
    }
    // fastify's own refusals, reworded to say what to send instead.
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.code === 'FST_ERR_CTP_EMPTY_TYPE')
      return reply.code(415).send({
        error: `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not accepted: send ${AVRO_CONTENT_TYPES.join(' or ')}`,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      })
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.code(413).send({
        error: `the body is larger than ${String(deps.maxBodyBytes)} bytes: send smaller batches`,
        code: 'PAYLOAD_TOO_LARGE',
      })
    return reply.code(status).send({ error: String(e.message), code: 'BAD_REQUEST' })
  })
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: `no route ${req.method} ${req.url.split('?')[0] ?? ''}`, code: 'NOT_FOUND' }),
  )

  healthRoutes(app, deps.readiness)
  app.get('/metrics', (_req, reply) =>
    reply
      .type('text/plain; version=0.0.4; charset=utf-8')
      .send(metrics.render(deps.writer.stats, deps.writer.queuedBytes)),
  )

  app.post(
    '/v1/ingest',
    {
      // Authenticated before the body is read: a request without a valid key costs no parsing.
      onRequest: async (req: FastifyRequest) => {
        req.principal = await deps.auth.authenticate(presentedKey(req.headers.authorization), 'ingest')
      },
    },
    async (req, reply) => {
      const principal = req.principal as Principal
      const raw = req.body
      if (!Buffer.isBuffer(raw) || raw.length === 0)
        throw new IngestError('BAD_PAYLOAD', 'the body is empty: send at least one Avro record')
      metrics.bytes += raw.length
      const payload = decodeBody(raw, req.headers['content-encoding'], deps.maxDecodedBytes)
      const batch = tenantBatch(deps.codec, payload, principal.tenant, deps.maxMessageBytes)
      const wait = limiter.take(principal.tenant, batch.records)
      if (wait !== undefined)
        throw new IngestError(
          'RATE_LIMITED',
          `tenant ${principal.tenant} is over its ingest rate (${String(deps.limits.requestsPerS)} requests/s, ${String(deps.limits.recordsPerS)} records/s)`,
          { retryAfterS: wait },
        )
      if (deps.writer.queuedBytes > deps.maxQueuedBytes)
        throw new IngestError('KAFKA_UNAVAILABLE', 'Kafka is not keeping up; try again shortly', {
          retryAfterS: 1,
        })
      try {
        await deps.writer.write(batch.messages)
      } catch (err) {
        req.log.warn({ err: String(err), tenant: principal.tenant }, 'Kafka did not acknowledge a batch')
        throw new IngestError('KAFKA_UNAVAILABLE', 'Kafka did not acknowledge the records; resend them', {
          cause: err,
          retryAfterS: 1,
        })
      }
      metrics.records += batch.records
      return reply.code(202).send({ accepted: batch.records, tenant: principal.tenant })
    },
  )
  return app
}
