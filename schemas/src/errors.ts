import { ProcstreamError } from '../../platform/errors.ts'

/**
 * Errors of the wire contract. None is retryable: the same bytes will fail the same way, so callers
 * dead-letter or reject them instead of trying again.
 *
 * | code                 | meaning                                                              |
 * | -------------------- | -------------------------------------------------------------------- |
 * | NOT_SINGLE_OBJECT    | bytes do not start with the Avro single-object marker 0xC3 0x01      |
 * | UNKNOWN_FINGERPRINT  | the schema fingerprint is not one this build knows                   |
 * | TRUNCATED            | the record ends before its schema says it should                     |
 * | INVALID_RECORD       | a value does not match the schema (encode) or decodes to nonsense    |
 * | EMPTY_PAYLOAD        | a message or request body with no record at all                      |
 */
export type SchemaErrorCode =
  'NOT_SINGLE_OBJECT' | 'UNKNOWN_FINGERPRINT' | 'TRUNCATED' | 'INVALID_RECORD' | 'EMPTY_PAYLOAD'

export class SchemaError extends ProcstreamError {
  readonly component = 'schemas'
  declare readonly code: SchemaErrorCode

  constructor(code: SchemaErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { retryable: false, cause: options.cause })
  }
}
