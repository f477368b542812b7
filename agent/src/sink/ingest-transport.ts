import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import { redactUrl } from '#platform/config.ts'
import { MAX_RECORD_BYTES } from '#schemas/src/admission.ts'
import type { Logger } from '#platform/logger.ts'
import { AgentError, GatewaySendError } from '../errors.ts'
import type { FailureAdvice, RequestLimit, Transport } from './transport.ts'
import { LogEvery } from '#platform/log-every.ts'

// The async form runs on libuv's thread pool: gzipping ~1 MB inline would delay the next tick.
const gzip = promisify(gzipCallback)

export const INGEST_PATH = '/v1/ingest'
export const INGEST_CONTENT_TYPE = 'application/vnd.procstream.avro'
const DEFAULT_TIMEOUT_MS = 30_000
/** An error body is read only this far: the gateway's `{error, code}` is short, anything else is noise. */
const MAX_ERROR_BODY = 4096
const REFUSED_LOG_EVERY_MS = 60_000
/** 400 (a record the processor would refuse, or undecodable) and 413 (a record over the broker's limit). */
const REFUSED_FOR_CONTENT = new Set([400, 413])
/**
 * The gateway writes the key's tenant into every record, and a tenant name is at most 63 bytes
 * (platform/auth/api-key.ts) behind a one-byte length: a record may grow by up to this much.
 */
const TENANT_GROWTH_BYTES = 64

export interface IngestTransportOptions {
  /** The gateway's base URL (http or https, optionally with a path prefix); requests go to URL/v1/ingest. */
  url: string
  key: string
  logger: Logger
  /** A request not answered within this long is abandoned and retried (default 30 s). */
  timeoutMs?: number
}

/** Undici rejects a header value with control characters and quotes the value in its error. */
export function isUsableKey(key: string): boolean {
  return /^[\x21-\x7e]+$/.test(key)
}

/**
 * Sends a batch as one `POST URL/v1/ingest`: the records back to back (each is already a
 * single-object-encoded envelope), gzip'ed, with the agent's key as a bearer token. Only 202 means
 * the gateway has the records; every other outcome rejects with an GatewaySendError and the sink retries.
 * The key is sent in the Authorization header and nowhere else: not in a message, not in a log line.
 */
export class IngestTransport implements Transport {
  readonly describe = 'ingest gateway'
  /**
   * The gateway packs a request's records into Kafka messages of at most MAX_RECORD_BYTES, after it
   * has swapped the tenant in, and produces each message of a larger request on whichever of its
   * producers is free (ingest/src/kafka-writer.ts): those pieces land in either order. A request that
   * fits one message lands whole, in order.
   */
  readonly maxRequest: RequestLimit = { bytes: MAX_RECORD_BYTES, perRecordBytes: TENANT_GROWTH_BYTES }
  private readonly endpoint: string
  private readonly shown: string
  private readonly timeoutMs: number
  private readonly closing = new AbortController()
  private readonly refusedKeyLog = new LogEvery(REFUSED_LOG_EVERY_MS)

  constructor(private readonly o: IngestTransportOptions) {
    if (!isUsableKey(o.key))
      throw new AgentError('BAD_ARGUMENT', 'the ingest key must be printable ASCII without spaces')
    this.endpoint = `${o.url.replace(/\/+$/, '')}${INGEST_PATH}`
    this.shown = redactUrl(this.endpoint)
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  /** HTTP has no session to open: the first POST tells whether the gateway is there. */
  connect(): Promise<void> {
    return Promise.resolve()
  }

  async send(records: Buffer[]): Promise<{ messages: number }> {
    const body = await gzip(records.length === 1 ? (records[0] as Buffer) : Buffer.concat(records))
    const signal = AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.timeoutMs)])
    let status: number
    let retryAfter: string | null
    let text: string
    try {
      const res = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.o.key}`,
          'content-type': INGEST_CONTENT_TYPE,
          'content-encoding': 'gzip',
          'user-agent': 'procstream-agent',
        },
        body,
        // A redirect is a misconfigured URL; following it could carry the key to another host.
        redirect: 'manual',
        signal,
      })
      status = res.status
      retryAfter = res.headers.get('retry-after')
      // Read even on 202, so the connection goes back to the pool for the next request.
      text = await readCapped(res, MAX_ERROR_BODY)
    } catch (err) {
      throw this.unreachable(err)
    }
    if (status === 202) return { messages: 1 }
    throw this.refused(status, text, retryAfter)
  }

  /** Abandons a request in flight: at stop its records stay in the spool for the next start. */
  close(): Promise<void> {
    this.closing.abort()
    return Promise.resolve()
  }

  afterFailure(err: unknown): FailureAdvice | undefined {
    if (!(err instanceof GatewaySendError)) return undefined
    const { status, retryAfterMs, record } = err.details
    // Refused for what the records are (ingest/README.md): resending the same bytes gets the same
    // answer for ever. Other 4xx (a key, a URL, a content type) are the agent's setup, fixed by an
    // operator while the records wait; 429 is a rate.
    if (status !== undefined && REFUSED_FOR_CONTENT.has(status))
      return { refused: { index: record, reason: err.message } }
    if (status === 401 || status === 403) this.logRefusedKey(status)
    return retryAfterMs === undefined ? undefined : { retryAfterMs }
  }

  /** At error level, since only an operator can fix it; once a minute, since retries go on meanwhile. */
  private logRefusedKey(status: number): void {
    if (!this.refusedKeyLog.due()) return
    this.o.logger.error(
      { status, url: this.shown },
      'the gateway refused the key; records stay queued and are retried',
    )
  }

  private refused(status: number, text: string, retryAfter: string | null): GatewaySendError {
    const said = this.gatewaySaid(text)
    const redirect = status >= 300 && status < 400 ? ' (redirects are not followed; give the final URL)' : ''
    const retryAfterMs = parseRetryAfter(retryAfter, Date.now())
    const record = refusedRecord(text)
    return new GatewaySendError(
      'INGEST_REFUSED',
      `POST ${this.shown} answered HTTP ${status}${said}${redirect}`,
      {
        status,
        ...(retryAfterMs !== undefined && { retryAfterMs }),
        ...(record !== undefined && { record }),
        retryable: status === 401 || status === 403 || status === 408 || status === 429 || status >= 500,
      },
    )
  }

  private unreachable(err: unknown): GatewaySendError {
    const e = err as { name?: unknown; message?: unknown; cause?: { message?: unknown } } | undefined
    let why: string
    if (this.closing.signal.aborted) why = 'abandoned: the agent is stopping'
    else if (e?.name === 'TimeoutError') why = `no answer within ${this.timeoutMs / 1000} s`
    else {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a TLS error, …) is its cause.
      const cause = e?.cause?.message ?? e?.message
      why = `unreachable: ${this.redact(typeof cause === 'string' ? cause : String(err))}`
    }
    return new GatewaySendError('INGEST_UNREACHABLE', `POST ${this.shown} ${why}`, {
      retryable: true,
      cause: err,
    })
  }

  /** `: error (CODE)` from the gateway's JSON body, or nothing when it sent none. */
  private gatewaySaid(text: string): string {
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return ''
    }
    if (typeof body !== 'object' || body === null) return ''
    const { error, code } = body as { error?: unknown; code?: unknown }
    const parts = [
      typeof error === 'string' ? this.redact(error.slice(0, 300)) : '',
      typeof code === 'string' ? `(${this.redact(code.slice(0, 60))})` : '',
    ].filter((p) => p !== '')
    return parts.length > 0 ? `: ${parts.join(' ')}` : ''
  }

  /** A gateway or proxy echoing the Authorization header must not put the key into our messages. */
  private redact(text: string): string {
    return text.split(this.o.key).join('[redacted]')
  }
}

/** The `record` index of the gateway's JSON answer, when it is a whole number. */
function refusedRecord(text: string): number | undefined {
  try {
    const { record } = JSON.parse(text) as { record?: unknown }
    return typeof record === 'number' && Number.isSafeInteger(record) && record >= 0 ? record : undefined
  } catch {
    return undefined
  }
}

/** Retry-After is delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs)
}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return ''
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.length
    if (size >= maxBytes) {
      // Past the cap the answer is not the gateway's; dropping this connection is cheaper than draining it.
      await reader.cancel()
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8')
}
