import { CatalogueError, defineErrors } from '#platform/errors.ts'

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
export const PROCESSOR_CATALOGUE = defineErrors({
  CLICKHOUSE_INSERT: {
    retryable: true,
    message: 'ClickHouse refused or did not answer an insert; retried with the same deduplication token',
  },
  KAFKA_COMMIT: {
    retryable: true,
    message: 'an offset commit failed; the range is replayed by the next owner and deduplicated',
  },
  INTENT_CORRUPT: { retryable: false, message: 'commit metadata that is not ours; ignored, logged' },
})

export type ProcessorErrorCode = keyof typeof PROCESSOR_CATALOGUE

export class ProcessorError extends CatalogueError<ProcessorErrorCode> {
  readonly component = 'stream-processors'
  constructor(
    code: ProcessorErrorCode,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(PROCESSOR_CATALOGUE, code, message, options)
  }
}
