import { CatalogueError, defineErrors } from '#platform/errors.ts'

/**
 * Errors of the wire contract. None is retryable: the same bytes will fail the same way, so callers
 * dead-letter or reject them instead of trying again.
 *
 * | code                 | meaning                                                              |
 * | -------------------- | -------------------------------------------------------------------- |
 * | NOT_SINGLE_OBJECT    | bytes do not start with the Avro single-object marker 0xC3 0x01      |
 * | UNKNOWN_FINGERPRINT  | the schema fingerprint is not one this build knows                   |
 * | TRUNCATED            | the record ends before its schema says it should, or a length or     |
 * |                      | block count declares more than the bytes that remain                 |
 * | INVALID_RECORD       | a value does not match the schema (encode) or decodes to nonsense: a |
 * |                      | varint longer than 10 bytes or padded, a union or enum index out of  |
 * |                      | range, a negative length, a block whose byte size is wrong           |
 * | OUT_OF_RANGE         | an `int` beyond 32 bits, or a `long` beyond ±(2^53−1) (values are    |
 * |                      | doubles downstream: it would be stored as another number)            |
 * | RECORD_LIMIT         | one record over a cap of DecodeLimits (avro-bounds.ts): bytes, array |
 * |                      | items and map entries, zero-size items, nesting depth                |
 * | PAYLOAD_LIMIT        | a payload over its cap of records or of items, every record together |
 * | EMPTY_PAYLOAD        | a message or request body with no record at all                      |
 *
 * Decoding messages start with `record N (byte B)`: the record's index in the payload and where it
 * starts, then the field path when the problem is inside one.
 */
export const SCHEMA_CATALOGUE = defineErrors({
  NOT_SINGLE_OBJECT: {
    retryable: false,
    message: 'bytes do not start with the Avro single-object marker 0xC3 0x01',
  },
  UNKNOWN_FINGERPRINT: { retryable: false, message: 'the schema fingerprint is not one this build knows' },
  TRUNCATED: { retryable: false, message: 'the record ends before its schema says it should' },
  INVALID_RECORD: {
    retryable: false,
    message: 'a value does not match the schema (encode) or decodes to nonsense',
  },
  OUT_OF_RANGE: { retryable: false, message: 'an int beyond 32 bits, or a long beyond ±(2^53−1)' },
  RECORD_LIMIT: { retryable: false, message: 'one record over a cap of DecodeLimits (avro-bounds.ts)' },
  PAYLOAD_LIMIT: { retryable: false, message: 'a payload over its cap of records or of items' },
  EMPTY_PAYLOAD: { retryable: false, message: 'a message or request body with no record at all' },
})

export type SchemaErrorCode = keyof typeof SCHEMA_CATALOGUE

/** Where in a payload a decoding error is: the record's index and first byte, the field path. */
export interface SchemaErrorPlace {
  index: number
  offset: number
  /** e.g. `sample(CpuSample).cpus[3].user`; '' for the record as a whole. */
  field: string
}

export class SchemaError extends CatalogueError<SchemaErrorCode> {
  readonly component = 'schemas'
  /** Set by decoding: which record of the payload, and which field, the error is about. */
  readonly record: SchemaErrorPlace | undefined

  constructor(
    code: SchemaErrorCode,
    message: string,
    options: { cause?: unknown; record?: SchemaErrorPlace } = {},
  ) {
    super(SCHEMA_CATALOGUE, code, message, { cause: options.cause })
    this.record = options.record
  }
}
