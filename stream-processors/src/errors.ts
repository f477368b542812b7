import { ProcstreamError } from '#platform/errors.ts'

/**
 * | code              | retryable | meaning                                                          |
 * | ----------------- | --------- | ---------------------------------------------------------------- |
 * | CLICKHOUSE_INSERT | yes       | ClickHouse refused or did not answer an insert; the batch is     |
 * |                   |           | retried with the same deduplication token, offsets stay put       |
 * | KAFKA_COMMIT      | yes       | an offset commit failed (often a rebalance); the range is         |
 * |                   |           | replayed by whoever owns the partition next and deduplicated      |
 * | INTENT_CORRUPT    | no        | commit metadata that is not ours; ignored, logged                 |
 *
 * Payloads the processor refuses are not errors but dead letters, with a reason code documented in
 * admission.ts and stream-processors/README.md.
 */
export type ProcessorErrorCode = 'CLICKHOUSE_INSERT' | 'KAFKA_COMMIT' | 'INTENT_CORRUPT'

export class ProcessorError extends ProcstreamError {
  readonly component = 'stream-processors'
  declare readonly code: ProcessorErrorCode
  constructor(
    code: ProcessorErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, options)
  }
}
