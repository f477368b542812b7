import { gunzipSync, inflateSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createHttpApp } from '#platform/http-app.ts'
import type { Logger } from '#platform/logger.ts'
import type { ChdbExecutor } from './chdb-executor.ts'
import { checkCredentials, credentialsOf, type Credentials } from './credentials.ts'
import { StorageError } from './errors.ts'
import { statementOf } from './request.ts'
import { StorageMetrics, statementKind, type StatementKind } from './metrics.ts'
import { METRICS_CONTENT_TYPE } from '#platform/metrics-server.ts'

export interface StorageServerOptions {
  executor: ChdbExecutor
  credentials: Credentials
  maxBodyBytes: number
  logger: Logger
  /** Listening on loopback only: then a Host header naming anything else is refused (DNS rebinding). */
  loopbackOnly: boolean
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * Browsers, not clients: a web page open on this host can POST to a loopback port (a "simple"
 * request needs no preflight) and, through DNS rebinding, read the answer. Clients of this server
 * never send Origin or Sec-Fetch-Site; browsers always send one of them on such requests.
 */
function browserRefusal(
  headers: import('node:http').IncomingHttpHeaders,
  loopbackOnly: boolean,
): string | undefined {
  if (headers.origin !== undefined) return 'requests from web pages (with an Origin header) are refused'
  const site = headers['sec-fetch-site']
  if (site !== undefined && site !== 'none') return 'requests from web pages (Sec-Fetch-Site) are refused'
  if (loopbackOnly) {
    const host = (headers.host ?? '').replace(/:\d+$/, '')
    if (!LOOPBACK_NAMES.has(host)) return `Host ${JSON.stringify(host)} is not this loopback server`
  }
  return undefined
}

/** HTTP statuses a server gives some engine errors; any other engine error is a 500, as there. */
const STATUS_BY_ENGINE_CODE = new Map<number, number>([
  [36, 400], // BAD_ARGUMENTS
  [62, 400], // SYNTAX_ERROR
  [46, 404], // UNKNOWN_FUNCTION
  [47, 404], // UNKNOWN_IDENTIFIER
  [60, 404], // UNKNOWN_TABLE
  [81, 404], // UNKNOWN_DATABASE
  [115, 400], // UNKNOWN_SETTING
  [164, 403], // READONLY
])

interface EngineError {
  clickhouseCode: number
  message: string
}

function isEngineError(err: unknown): err is EngineError {
  return err instanceof Error && typeof (err as Partial<EngineError>).clickhouseCode === 'number'
}

/** The body without its Content-Encoding, still bytes: it may be a binary format's data. */
function decode(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const limits = { maxOutputLength: maxBytes }
  try {
    if (encoding === undefined || encoding === 'identity') return body
    if (encoding === 'gzip') return gunzipSync(body, limits)
    if (encoding === 'deflate') return inflateSync(body, limits)
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new StorageError('REQUEST_TOO_LARGE', `the decompressed body is over ${maxBytes} bytes`)
    throw new StorageError('BAD_ARGUMENTS', `the body is not valid ${encoding}: ${String(err)}`)
  }
  throw new StorageError('BAD_ARGUMENTS', `Content-Encoding ${encoding} is not supported (gzip, deflate)`)
}

function sendError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('x-clickhouse-exception-code', String(code))
    .type('text/plain; charset=UTF-8')
    .send(`${message}\n`)
}

/**
 * The embedded engine behind the part of ClickHouse's HTTP interface that `@clickhouse/client` uses:
 * statements on `/` by POST (and read-only by GET), `/ping`, parameters, per-statement settings,
 * basic authentication, and errors in the server's shape. It lets several processes (processors,
 * query APIs) share one chdb data folder, which only one process can open.
 */
export function buildStorageServer(options: StorageServerOptions): FastifyInstance {
  const { executor, credentials, maxBodyBytes, logger, loopbackOnly } = options
  const metrics = new StorageMetrics()
  const kinds = new WeakMap<object, StatementKind>()
  const errorHandler = (err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof StorageError) {
      metrics.refusal(err.clickhouseCode)
      req.log.warn({ code: err.code, err: err.message }, 'request refused')
      return sendError(reply, err.status, err.clickhouseCode, err.clickhouseMessage)
    }
    if (isEngineError(err)) {
      metrics.statement(kinds.get(req) ?? 'query', false)
      // The statement failed in the engine: the client's to fix, logged at debug like a server's.
      req.log.debug({ code: err.clickhouseCode, err: err.message }, 'statement failed')
      return sendError(
        reply,
        STATUS_BY_ENGINE_CODE.get(err.clickhouseCode) ?? 500,
        err.clickhouseCode,
        err.message,
      )
    }
    const status = (err as { statusCode?: number }).statusCode
    if (status === 413) {
      const tooLarge = new StorageError('REQUEST_TOO_LARGE', `the body is over ${maxBodyBytes} bytes`)
      return sendError(reply, tooLarge.status, tooLarge.clickhouseCode, tooLarge.clickhouseMessage)
    }
    if (status !== undefined && status >= 400 && status < 500) {
      // fastify's own refusals (a malformed URL or length): the client's to fix, said as a server would.
      const bad = new StorageError('BAD_ARGUMENTS', (err as Error).message)
      return sendError(reply, bad.status, bad.clickhouseCode, bad.clickhouseMessage)
    }
    const kind = kinds.get(req)
    if (kind !== undefined) metrics.statement(kind, false)
    req.log.error({ err }, 'request failed')
    return sendError(reply, 500, 1001, `Code: 1001. DB::Exception: ${String(err)}. (STD_EXCEPTION)`)
  }
  const app = createHttpApp({
    logger,
    bodyLimit: maxBodyBytes,
    // Bodies are SQL or an INSERT's data in any format, whatever Content-Type the client names.
    rawBodies: '*',
    // Errors in a ClickHouse server's shape, which @clickhouse/client reads.
    errorHandler,
    notFound: (req) => {
      throw new StorageError(
        'UNKNOWN_HANDLER',
        `there is no handler for ${req.method} ${req.url.split('?')[0] ?? ''}`,
      )
    },
  })

  // Before the body is read, so a client without the password cannot make the server buffer one.
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.url === '/ping' || req.url.startsWith('/ping?')) {
      done()
      return
    }
    try {
      const refusal = browserRefusal(req.headers, loopbackOnly)
      if (refusal !== undefined) throw new StorageError('AUTHENTICATION_FAILED', refusal)
      // Scrapers carry no ClickHouse password; the page holds counters only, no table, user or row.
      if (req.url === '/metrics') {
        done()
        return
      }
      checkCredentials(
        credentialsOf(req.headers, new URL(req.url, 'http://storage').searchParams),
        credentials,
      )
      done()
    } catch (err) {
      done(err as Error)
    }
  })

  app.get('/ping', async (_req, reply) => reply.type('text/plain; charset=UTF-8').send('Ok.\n'))
  app.get('/metrics', async (_req, reply) => reply.type(METRICS_CONTENT_TYPE).send(metrics.render()))

  const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const search = new URL(req.url, 'http://storage').searchParams
    const encoding = req.headers['content-encoding']
    const body = req.body instanceof Buffer ? decode(req.body, encoding, maxBodyBytes) : Buffer.alloc(0)
    metrics.receivedBytes += body.length
    const statement = statementOf(req.method, search, body)
    const kind = statementKind(statement.query, statement.body)
    kinds.set(req, kind)
    const queryId = search.get('query_id') ?? req.id
    const outcome = await executor.run(statement)
    metrics.statement(kind, true)
    metrics.engineSeconds += outcome.elapsedSeconds
    return reply
      .header('x-clickhouse-query-id', queryId)
      .header('x-clickhouse-format', statement.format)
      .header(
        'x-clickhouse-summary',
        JSON.stringify({
          read_rows: String(outcome.rowsRead),
          read_bytes: String(outcome.bytesRead),
          written_rows: '0',
          written_bytes: '0',
          total_rows_to_read: '0',
          result_rows: String(outcome.rowsRead),
          result_bytes: String(outcome.bytes.length),
          elapsed_ns: String(Math.round(outcome.elapsedSeconds * 1e9)),
        }),
      )
      .type('text/plain; charset=UTF-8')
      .send(outcome.bytes)
  }
  app.get('/', handle)
  app.post('/', handle)
  return app
}
