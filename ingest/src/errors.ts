import { ProcstreamError } from '../../platform/errors.ts'

/**
 * Every error the ingest gateway answers with (besides the auth codes of platform/auth/errors.ts:
 * UNAUTHENTICATED 401, FORBIDDEN 403). A rejected request produces nothing to Kafka.
 *
 * | code                   | status | retryable | meaning                                                     |
 * | ---------------------- | ------ | --------- | ----------------------------------------------------------- |
 * | UNSUPPORTED_MEDIA_TYPE | 415    | no        | Content-Type is not an accepted Avro type                   |
 * | UNSUPPORTED_ENCODING   | 415    | no        | Content-Encoding is not identity, gzip or zstd              |
 * | PAYLOAD_TOO_LARGE      | 413    | no        | body (or body once decompressed) over the configured limit  |
 * | BAD_PAYLOAD            | 400    | no        | not Avro single-object records of a known schema; the       |
 * |                        |        |           | message names the record's byte offset and the problem      |
 * | RATE_LIMITED           | 429    | yes       | the tenant's request or record rate is used up; see         |
 * |                        |        |           | Retry-After                                                 |
 * | KAFKA_UNAVAILABLE      | 503    | yes       | Kafka did not acknowledge; nothing is certain to be stored, |
 * |                        |        |           | resend (agents' sequence numbers make a repeat harmless)    |
 */
export const INGEST_ERRORS = {
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_ENCODING: 415,
  PAYLOAD_TOO_LARGE: 413,
  BAD_PAYLOAD: 400,
  RATE_LIMITED: 429,
  KAFKA_UNAVAILABLE: 503,
} as const

export type IngestErrorCode = keyof typeof INGEST_ERRORS

export class IngestError extends ProcstreamError {
  readonly component = 'ingest'
  declare readonly code: IngestErrorCode
  readonly statusCode: number
  /** Seconds a client should wait before trying again (429, 503). */
  readonly retryAfterS: number | undefined

  constructor(
    code: IngestErrorCode,
    message: string,
    options: { cause?: unknown; retryAfterS?: number } = {},
  ) {
    super(code, message, {
      retryable: code === 'RATE_LIMITED' || code === 'KAFKA_UNAVAILABLE',
      cause: options.cause,
    })
    this.statusCode = INGEST_ERRORS[code]
    this.retryAfterS = options.retryAfterS
  }
}
