import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify'
import type { Principal } from './auth/authenticator.ts'
import { AuthError, authErrorHeaders } from './auth/errors.ts'
import type { TlsFiles } from './tls.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, set by the app's `authenticate` on routes that ask for it; null elsewhere. */
    principal: Principal | null
  }
  interface FastifyContextConfig {
    /** Run the app's `authenticate` before this route (and before its body is read). */
    authenticate?: boolean
  }
}

/** What a thrown error answers: `{ error: message, code, ...extra }` with this status and headers. */
export interface ErrorReply {
  status: number
  code: string
  message: string
  headers?: Record<string, string>
  /** Fields after `error` and `code` in the body. */
  extra?: Record<string, unknown>
}

export interface HttpAppOptions {
  logger: FastifyBaseLogger
  bodyLimit: number
  /** HTTPS with these PEM files; plain HTTP without. */
  tls?: TlsFiles | undefined
  requestTimeoutMs?: number
  forceCloseConnections?: boolean
  /**
   * Only these content types, handed to routes as the raw bytes; without it fastify's JSON and text
   * parsers stay.
   */
  rawBodies?: string | readonly string[]
  /**
   * The app's own errors as replies. An AuthError always answers its status, code and headers
   * (authErrorHeaders); what neither answers is a 5xx `internal error` (logged) or a 4xx
   * `BAD_REQUEST` with fastify's message.
   */
  errorReply?: (err: unknown, req: FastifyRequest) => ErrorReply | undefined
  /** The log message of an unanswered error (status 5xx). */
  failureMessage?: string
  /**
   * Replaces the JSON error reply entirely, for a server that answers in another protocol's shape
   * (storage: ClickHouse's plain-text errors).
   */
  errorHandler?: (err: unknown, req: FastifyRequest, reply: FastifyReply) => unknown
  /** Replaces the JSON 404 (`no route METHOD /path`, code NOT_FOUND). */
  notFound?: (req: FastifyRequest, reply: FastifyReply) => unknown
  /** Who is calling, for routes with `config: { authenticate: true }`; it throws to refuse. */
  authenticate?: (req: FastifyRequest) => Promise<Principal>
}

/** The fastify set-up every HTTP server of the project shares (gateway, query API, storage). */
export function createHttpApp(o: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: o.logger,
    // Every request of the pipeline's rate would be a log line: failures are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    ...(o.requestTimeoutMs !== undefined && { requestTimeout: o.requestTimeoutMs }),
    ...(o.forceCloseConnections !== undefined && { forceCloseConnections: o.forceCloseConnections }),
    ...(o.tls && { https: { cert: o.tls.cert, key: o.tls.key } }),
  }) as unknown as FastifyInstance

  if (o.rawBodies !== undefined) {
    app.removeAllContentTypeParsers()
    const types = typeof o.rawBodies === 'string' ? o.rawBodies : [...o.rawBodies]
    app.addContentTypeParser(types, { parseAs: 'buffer' }, (_req, body, done) => {
      done(null, body)
    })
  }

  app.decorateRequest('principal', null)
  const authenticate = o.authenticate
  if (authenticate) {
    const hook = async (req: FastifyRequest): Promise<void> => {
      req.principal = await authenticate(req)
    }
    // A route-level hook, so it runs after the app's own onRequest hooks, as a route's own would.
    app.addHook('onRoute', (route: RouteOptions) => {
      if (route.config?.authenticate !== true) return
      const own = route.onRequest === undefined ? [] : [route.onRequest].flat()
      route.onRequest = [hook, ...own]
    })
  }

  const failureMessage = o.failureMessage ?? 'request failed'
  const errorReply = o.errorReply
  app.setErrorHandler(
    o.errorHandler ??
      ((err, req, reply) => {
        const answer =
          err instanceof AuthError
            ? {
                status: err.statusCode,
                code: err.code,
                message: err.message,
                headers: authErrorHeaders(err),
              }
            : errorReply?.(err, req)
        if (answer) {
          if (answer.headers) void reply.headers(answer.headers)
          return reply.code(answer.status).send({ error: answer.message, code: answer.code, ...answer.extra })
        }
        const status =
          typeof (err as { statusCode?: unknown }).statusCode === 'number'
            ? (err as { statusCode: number }).statusCode
            : 500
        if (status >= 500) req.log.error({ err }, failureMessage)
        return reply.code(status).send({
          error: status >= 500 ? 'internal error' : (err as Error).message,
          code: status >= 500 ? 'INTERNAL' : 'BAD_REQUEST',
        })
      }),
  )
  app.setNotFoundHandler(
    o.notFound ??
      ((req, reply) =>
        reply
          .code(404)
          .send({ error: `no route ${req.method} ${req.url.split('?')[0] ?? ''}`, code: 'NOT_FOUND' })),
  )
  return app
}
