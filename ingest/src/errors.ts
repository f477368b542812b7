import { ProcstreamError } from '#platform/errors.ts'

/**
 * Every error the ingest gateway answers with (besides the auth codes of platform/auth/errors.ts:
 * UNAUTHENTICATED 401, FORBIDDEN 403). A rejected request produces nothing to Kafka.
 *
 * | code                   | status | retryable | meaning                                                     |
 * | ---------------------- | ------ | --------- | ----------------------------------------------------------- |
 * | UNSUPPORTED_MEDIA_TYPE | 415    | no        | Content-Type is not an accepted Avro type                   |
 * | UNSUPPORTED_ENCODING   | 415    | no        | Content-Encoding is not identity, gzip or zstd              |
 * | PAYLOAD_TOO_LARGE      | 413    | no        | body (or body once decompressed) over the configured limit; |
 * |                        |        |           | a zstd frame declaring a window over 8 MiB, a content size  |
 * |                        |        |           | over the limit, or too many blocks for its window (body.ts) |
 * | BAD_PAYLOAD            | 400    | no        | not Avro single-object records of a known schema, or not    |
 * |                        |        |           | valid gzip/zstd; a count, length or varint the bytes do not |
 * |                        |        |           | back, a value beyond its type (schemas/src/avro-bounds.ts). |
 * |                        |        |           | The message is `CODE: record N (byte B): field: problem`,   |
 * |                        |        |           | CODE being the SchemaError code (schemas/src/errors.ts)     |
 * | RECORD_REFUSED         | 400    | no        | a record the processor would not store (schemas/src/        |
 * |                        |        |           | admission.ts): not finite, out of its type's range, a time  |
 * |                        |        |           | or interval out of bounds; names the record and the field   |
 * | RECORD_TOO_LARGE       | 413    | no        | a record over the broker's message limit (MAX_RECORD_BYTES),|
 * |                        |        |           | or one the broker refused as too large; names the record    |
 * | RATE_LIMITED           | 429    | yes       | the tenant's request or record rate is used up; see         |
 * |                        |        |           | Retry-After                                                 |
 * | KAFKA_UNAVAILABLE      | 503    | yes       | Kafka did not acknowledge; nothing is certain to be stored, |
 * |                        |        |           | resend (agents' sequence numbers make a repeat harmless)    |
 * | GATEWAY_BUSY           | 503    | yes       | INGEST_MAX_CONCURRENT_REQUESTS are being read and decoded;  |
 * |                        |        |           | refused before the body is read; see Retry-After            |
 *
 * Live control through the gateway (GET /v1/control, POST /v1/control/reply):
 *
 * | BAD_PARAMETER          | 400    | no        | host or groups missing, too long, with characters refused,  |
 * |                        |        |           | repeated, or a parameter the route does not take            |
 * | BAD_REPLY              | 400    | no        | the reply body is not {"id", "reply": {"host_id",           |
 * |                        |        |           | "agent_id", …}} for the host the request was handed to      |
 * | UNKNOWN_CONTROL_ID     | 404    | no        | no request with this id waits for a reply of this key's     |
 * |                        |        |           | tenant: never handed out, answered, expired, or another     |
 * |                        |        |           | tenant's (the same answer for each)                         |
 * | TOO_MANY_POLLS         | 429    | yes       | the tenant holds as many polls (or unanswered requests) as  |
 * |                        |        |           | it may; see Retry-After                                     |
 * | CONTROL_BUSY           | 503    | yes       | the gateway holds as many polls (or unanswered requests) as |
 * |                        |        |           | it may, all tenants together; see Retry-After               |
 * | CONTROL_UNAVAILABLE    | 503    | yes       | no NATS configured for this gateway (Retry-After 60), not   |
 * |                        |        |           | connected yet, or the gateway is stopping                   |
 */
export const INGEST_ERRORS = {
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_ENCODING: 415,
  PAYLOAD_TOO_LARGE: 413,
  BAD_PAYLOAD: 400,
  RECORD_REFUSED: 400,
  RECORD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  KAFKA_UNAVAILABLE: 503,
  GATEWAY_BUSY: 503,
  BAD_PARAMETER: 400,
  BAD_REPLY: 400,
  UNKNOWN_CONTROL_ID: 404,
  TOO_MANY_POLLS: 429,
  CONTROL_BUSY: 503,
  CONTROL_UNAVAILABLE: 503,
} as const

const RETRYABLE: ReadonlySet<IngestErrorCode> = new Set([
  'RATE_LIMITED',
  'KAFKA_UNAVAILABLE',
  'GATEWAY_BUSY',
  'TOO_MANY_POLLS',
  'CONTROL_BUSY',
  'CONTROL_UNAVAILABLE',
])

export type IngestErrorCode = keyof typeof INGEST_ERRORS

export class IngestError extends ProcstreamError {
  readonly component = 'ingest'
  declare readonly code: IngestErrorCode
  readonly statusCode: number
  /** Seconds a client should wait before trying again (429, 503). */
  readonly retryAfterS: number | undefined
  /**
   * For a refusal of one record: its index in the request (0-based) and the field at fault, in the
   * answer too, so an agent can drop that record and resend the others.
   */
  readonly record: { index: number; field: string } | undefined

  constructor(
    code: IngestErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterS?: number; record?: { index: number; field: string } } = {},
  ) {
    super(code, message, {
      retryable: RETRYABLE.has(code),
      cause: options.cause,
    })
    this.statusCode = INGEST_ERRORS[code]
    this.retryAfterS = options.retryAfterS
    this.record = options.record
  }
}
