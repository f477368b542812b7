import { ProcstreamError } from '../../platform/errors.ts'

/**
 * | code             | retryable | meaning                                                         |
 * | ---------------- | --------- | --------------------------------------------------------------- |
 * | PROC_UNREADABLE  | yes       | a /proc file could not be opened or read (may appear later)     |
 * | SEND_FAILED      | yes       | Kafka did not acknowledge a batch; it stays queued and is resent |
 * | QUEUE_OVERFLOW   | no        | the send queue was full and the oldest samples were dropped     |
 * | BAD_ARGUMENT     | no        | a command-line flag or environment value is invalid             |
 */
export type AgentErrorCode = 'PROC_UNREADABLE' | 'SEND_FAILED' | 'QUEUE_OVERFLOW' | 'BAD_ARGUMENT'

export class AgentError extends ProcstreamError {
  readonly component = 'agent'
  declare readonly code: AgentErrorCode
  constructor(code: AgentErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(code, message, options)
  }
}
