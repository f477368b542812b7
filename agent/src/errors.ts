import { ProcstreamError } from '#platform/errors.ts'

/**
 * | code               | retryable | meaning                                                           |
 * | ------------------ | --------- | ----------------------------------------------------------------- |
 * | PROC_UNREADABLE    | yes       | a /proc file could not be opened or read (may appear later)       |
 * | SEND_FAILED        | yes       | Kafka did not acknowledge a batch; it stays queued and is resent  |
 * | QUEUE_OVERFLOW     | no        | the send queue was full and the oldest samples were dropped       |
 * | BAD_ARGUMENT       | no        | a command-line flag or environment value is invalid               |
 * | INGEST_REFUSED     | see below | the ingest gateway answered with a status other than 202          |
 * | INGEST_UNREACHABLE | yes       | the ingest gateway could not be reached or did not answer in time |
 *
 * INGEST_REFUSED is retryable for 401/403 (a key can be fixed), 408, 429 and 5xx; another 4xx means
 * the gateway refuses these records as they are. The sink retries both kinds alike: dropping records
 * the gateway might accept after an upgrade would lose data silently.
 */
export type AgentErrorCode =
  | 'PROC_UNREADABLE'
  | 'SEND_FAILED'
  | 'QUEUE_OVERFLOW'
  | 'BAD_ARGUMENT'
  | 'INGEST_REFUSED'
  | 'INGEST_UNREACHABLE'

export class AgentError extends ProcstreamError {
  readonly component = 'agent'
  declare readonly code: AgentErrorCode
  constructor(code: AgentErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(code, message, options)
  }
}

/** A POST to the ingest gateway that was not acknowledged. Its message never carries the agent's key. */
export class IngestError extends AgentError {
  constructor(
    code: 'INGEST_REFUSED' | 'INGEST_UNREACHABLE',
    message: string,
    readonly details: {
      /** The HTTP status, when the gateway answered. */
      status?: number
      /** What the gateway's Retry-After asked for, in milliseconds. */
      retryAfterMs?: number
      /** The index of the record the gateway refused (its answer's `record`), when it named one. */
      record?: number
      retryable: boolean
      cause?: unknown
    },
  ) {
    super(code, message, { retryable: details.retryable, cause: details.cause })
  }
}
