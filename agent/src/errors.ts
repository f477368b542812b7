import { CatalogueError, defineErrors } from '#platform/errors.ts'

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
export const AGENT_CATALOGUE = defineErrors({
  PROC_UNREADABLE: {
    retryable: true,
    message: 'a /proc file could not be opened or read (may appear later)',
  },
  SEND_FAILED: {
    retryable: true,
    message: 'Kafka did not acknowledge a batch; it stays queued and is resent',
  },
  QUEUE_OVERFLOW: {
    retryable: false,
    message: 'the send queue was full and the oldest samples were dropped',
  },
  BAD_ARGUMENT: { retryable: false, message: 'a command-line flag or environment value is invalid' },
  // The thrower decides from the gateway's status (see above).
  INGEST_REFUSED: { retryable: false, message: 'the ingest gateway answered with a status other than 202' },
  INGEST_UNREACHABLE: {
    retryable: true,
    message: 'the ingest gateway could not be reached or did not answer in time',
  },
})

export type AgentErrorCode = keyof typeof AGENT_CATALOGUE

/** The disk spool's (sink/spool.ts SpoolError): each is a misuse or a second agent, never retried. */
export const SPOOL_CATALOGUE = defineErrors({
  SPOOL_BUSY: {
    retryable: false,
    message: 'a batch is already out, or records in flight moved into a spool that is not empty',
  },
  SPOOL_BAD_RECORD: { retryable: false, message: 'a record too large for a spool segment' },
  SPOOL_CLOSED: { retryable: false, message: 'the spool is used after it was closed' },
  SPOOL_LOCKED: { retryable: false, message: "another live process holds the spool folder's lock" },
})

export type SpoolErrorCode = keyof typeof SPOOL_CATALOGUE

export class AgentError extends CatalogueError<AgentErrorCode> {
  readonly component = 'agent'
  constructor(code: AgentErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(AGENT_CATALOGUE, code, message, options)
  }
}

/**
 * A POST to the ingest gateway that was not acknowledged: the agent's side of the gateway's answer
 * (the gateway's own error class is ingest/src/errors.ts IngestError). Its message never carries the
 * agent's key.
 */
export class GatewaySendError extends AgentError {
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
