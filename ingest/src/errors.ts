import { CatalogueError, defineErrors, statusesOf } from '#platform/errors.ts'

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
 *
 * What fastify refuses before a route runs, and failures of the gateway itself (server.ts):
 *
 * | BAD_REQUEST            | 400    | no        | a request fastify refused (its own status when it has one)  |
 * | NOT_FOUND              | 404    | no        | no such route                                               |
 * | INTERNAL               | 500    | yes       | a failure of the gateway itself, logged there               |
 */
export const INGEST_CATALOGUE = defineErrors({
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    message: 'Content-Type is not an accepted Avro type',
  },
  UNSUPPORTED_ENCODING: {
    status: 415,
    retryable: false,
    message: 'Content-Encoding is not identity, gzip or zstd',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    retryable: false,
    message: 'the body (or the body once decompressed) is over the configured limit',
  },
  BAD_PAYLOAD: {
    status: 400,
    retryable: false,
    message: 'not Avro single-object records of a known schema, or not valid gzip/zstd',
  },
  RECORD_REFUSED: { status: 400, retryable: false, message: 'a record the processor would not store' },
  RECORD_TOO_LARGE: { status: 413, retryable: false, message: "a record over the broker's message limit" },
  RATE_LIMITED: { status: 429, retryable: true, message: "the tenant's request or record rate is used up" },
  KAFKA_UNAVAILABLE: { status: 503, retryable: true, message: 'Kafka did not acknowledge; resend' },
  GATEWAY_BUSY: {
    status: 503,
    retryable: true,
    message: 'INGEST_MAX_CONCURRENT_REQUESTS are being read and decoded',
  },
  BAD_PARAMETER: { status: 400, retryable: false, message: 'a control poll parameter is missing or refused' },
  BAD_REPLY: { status: 400, retryable: false, message: 'a control reply body is not the expected JSON' },
  UNKNOWN_CONTROL_ID: {
    status: 404,
    retryable: false,
    message: "no request with this id waits for a reply of this key's tenant",
  },
  TOO_MANY_POLLS: { status: 429, retryable: true, message: 'the tenant holds as many polls as it may' },
  CONTROL_BUSY: {
    status: 503,
    retryable: true,
    message: 'the gateway holds as many polls as it may, all tenants together',
  },
  CONTROL_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'no NATS configured for this gateway, not connected yet, or stopping',
  },
  // Answered by server.ts's error and not-found handlers, for what fastify itself refuses.
  BAD_REQUEST: { status: 400, retryable: false, message: 'a request fastify refused before any route ran' },
  NOT_FOUND: { status: 404, retryable: false, message: 'no such route' },
  INTERNAL: { status: 500, retryable: true, message: 'a failure of the gateway itself, logged there' },
})

/** `{ CODE: status }`, as importers read it. */
export const INGEST_ERRORS = statusesOf(INGEST_CATALOGUE)

export type IngestErrorCode = keyof typeof INGEST_CATALOGUE

export class IngestError extends CatalogueError<IngestErrorCode> {
  readonly component = 'ingest'
  declare readonly statusCode: number
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
    super(INGEST_CATALOGUE, code, message, { cause: options.cause })
    this.retryAfterS = options.retryAfterS
    this.record = options.record
  }
}
