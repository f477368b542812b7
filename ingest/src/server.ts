import type { FastifyInstance, FastifyRequest } from 'fastify'
import { presentedKey, type Authenticator, type Principal } from '#platform/auth/authenticator.ts'
import { createHttpApp, type ErrorReply } from '#platform/http-app.ts'
import type { Logger } from '#platform/logger.ts'
import type { TlsFiles } from '#platform/tls.ts'
import type { AdmissionRule } from '#schemas/src/admission.ts'
import type { EnvelopeCodec } from '#schemas/src/codec.ts'
import { healthRoutes, type ReadinessCheck } from '#platform/health-routes.ts'
import { AVRO_CONTENT_TYPES, decodeBody } from './body.ts'
import { IngestError } from './errors.ts'
import type { KafkaWriter } from './kafka-writer.ts'
import { IngestMetrics } from './metrics.ts'
import { METRICS_CONTENT_TYPE } from '#platform/metrics-server.ts'
import { TenantRateLimiter, type RateLimits } from '#platform/rate-limit.ts'
import { tenantBatch } from './tenant-records.ts'
import { parseControlQuery, parseControlReply, type ControlRelay } from './control-relay.ts'

/** A reply is the agent's schedule (a few hundred bytes); anything larger is not one. */
const MAX_REPLY_BODY_BYTES = 64 * 1024
const REPLY_CONTENT_TYPE = 'application/json'

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
  /** What a record must satisfy to be stored (schemas/src/admission.ts), the processor's rule too. */
  admission: AdmissionRule
  maxQueuedBytes: number
  /** Ingest requests read and decoded at once (memory: this × (body + decoded) at most). */
  maxConcurrentRequests?: number
  requestTimeoutMs?: number
  /** Live control for agents polling through the gateway (GET /v1/control, POST /v1/control/reply). */
  control: ControlRelay
  tls?: TlsFiles | undefined
}

/** The gateway's errors; fastify's own refusals reworded to say what to send instead. */
function ingestErrorReply(err: unknown, req: FastifyRequest, maxBodyBytes: number): ErrorReply | undefined {
  if (err instanceof IngestError)
    return {
      status: err.statusCode,
      code: err.code,
      message: err.message,
      ...(err.retryAfterS !== undefined && { headers: { 'retry-after': String(err.retryAfterS) } }),
      // A refused record's index and field, for the agent to drop just that one.
      ...(err.record && { extra: { record: err.record.index, field: err.record.field } }),
    }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500
  if (status >= 500) return undefined
  const isReply = req.routeOptions.url === '/v1/control/reply'
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.code === 'FST_ERR_CTP_EMPTY_TYPE')
    return {
      status: 415,
      message: `Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')} is not accepted: send ${isReply ? REPLY_CONTENT_TYPE : AVRO_CONTENT_TYPES.join(' or ')}`,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return {
      status: 413,
      message: isReply
        ? `a control reply is at most ${String(MAX_REPLY_BODY_BYTES)} bytes`
        : `the body is larger than ${String(maxBodyBytes)} bytes: send smaller batches`,
      code: 'PAYLOAD_TOO_LARGE',
    }
  return { status, message: String(e.message), code: 'BAD_REQUEST' }
}

/**
 * `POST /v1/ingest`: bearer key (ingest scope) → tenant; body of Avro single-object records, as sent or
 * gzip/zstd; every record checked before anything is produced; produced under the key's tenant and
 * answered 202 only once Kafka's in-sync replicas have it.
 */
export function buildIngestGateway(deps: IngestGatewayDeps): FastifyInstance {
  const app = createHttpApp({
    logger: deps.logger,
    bodyLimit: deps.maxBodyBytes,
    // A sender that trickles its body holds a slot: it gets this long to finish sending.
    requestTimeoutMs: deps.requestTimeoutMs ?? 30_000,
    tls: deps.tls,
    // Only Avro: fastify's JSON and text parsers would let other bodies reach the route.
    rawBodies: AVRO_CONTENT_TYPES,
    errorReply: (err, req) => ingestErrorReply(err, req, deps.maxBodyBytes),
    failureMessage: 'ingest request failed',
    // The same check on every route that asks for it: a key with the ingest scope, whose tenant is
    // the only one those routes ever act for.
    authenticate: (req) => deps.auth.authenticate(presentedKey(req.headers.authorization), 'ingest'),
  })
  const metrics = new IngestMetrics()
  const limiter = new TenantRateLimiter(deps.limits)

  // Bodies are read and decoded by at most this many requests at once, so what the gateway holds for
  // them is bounded whatever arrives; the rest are refused before their body is read (retryable).
  const maxConcurrent = deps.maxConcurrentRequests ?? 16
  let reading = 0
  const holding = new WeakSet<object>()
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.method !== 'POST' || req.routeOptions.url !== '/v1/ingest') {
      done()
      return
    }
    if (reading >= maxConcurrent) {
      done(
        new IngestError(
          'GATEWAY_BUSY',
          `the gateway is reading ${String(maxConcurrent)} requests; try again shortly`,
          {
            retryAfterS: 1,
          },
        ),
      )
      return
    }
    reading++
    holding.add(req)
    done()
  })
  const release = (req: object): void => {
    if (holding.delete(req)) reading--
  }
  app.addHook('onResponse', (req, reply, done) => {
    release(req)
    if (req.routeOptions.url === '/v1/ingest') metrics.answered(reply.statusCode)
    done()
  })
  // A sender that hangs up (or times out) before the answer gets no onResponse.
  app.addHook('onRequestAbort', (req, done) => {
    release(req)
    done()
  })
  healthRoutes(app, deps.readiness)
  app.get('/metrics', (_req, reply) =>
    reply
      .type(METRICS_CONTENT_TYPE)
      .send(metrics.render(deps.writer.stats, deps.writer.queuedBytes, deps.control.stats)),
  )
  const rateLimit = (tenant: string): void => {
    const wait = limiter.take(tenant, 0)
    if (wait !== undefined)
      throw new IngestError(
        'RATE_LIMITED',
        `tenant ${tenant} is over its request rate (${String(deps.limits.requestsPerS)} requests/s)`,
        { retryAfterS: wait },
      )
  }

  app.get('/v1/control', { config: { authenticate: true } }, async (req, reply) => {
    const { tenant } = req.principal as Principal
    const { host, groups } = parseControlQuery(req.query)
    rateLimit(tenant)
    // The response's 'close' comes when the agent hangs up (or once the answer is sent): a poll
    // nobody waits for must not take the next request.
    const gone = new AbortController()
    reply.raw.once('close', () => {
      gone.abort()
    })
    const delivered = await deps.control.poll(tenant, host, groups, gone.signal)
    if (delivered === undefined) return reply.code(204).send()
    return reply.code(200).send(delivered)
  })

  // JSON only here: the ingest route keeps refusing every body but Avro.
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser(
      REPLY_CONTENT_TYPE,
      { parseAs: 'string', bodyLimit: MAX_REPLY_BODY_BYTES },
      (_req, body, parsed) => {
        try {
          parsed(null, JSON.parse(body as string) as unknown)
        } catch {
          parsed(new IngestError('BAD_REPLY', 'the body is not JSON'), undefined)
        }
      },
    )
    scope.post('/v1/control/reply', { config: { authenticate: true } }, async (req, reply) => {
      const { tenant } = req.principal as Principal
      rateLimit(tenant)
      const { id, reply: answer } = parseControlReply(req.body)
      const delivered = deps.control.answer(tenant, id, answer)
      return reply.code(200).send({ delivered })
    })
    done()
  })

  app.post(
    '/v1/ingest',
    {
      // Authenticated before the body is read: a request without a valid key costs no parsing.
      config: { authenticate: true },
    },
    async (req, reply) => {
      const principal = req.principal as Principal
      const raw = req.body
      if (!Buffer.isBuffer(raw) || raw.length === 0)
        throw new IngestError('BAD_PAYLOAD', 'the body is empty: send at least one Avro record')
      metrics.bytes += raw.length
      const payload = await decodeBody(raw, req.headers['content-encoding'], deps.maxDecodedBytes)
      const batch = tenantBatch(deps.codec, deps.admission, payload, principal.tenant, deps.maxMessageBytes)
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
        // The broker refused the records for what they are (413): a resend cannot help.
        if (err instanceof IngestError) throw err
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
