import { CatalogueError, defineErrors } from '#platform/errors.ts'

/**
 * Errors the storage server raises itself (the engine's own errors pass through unchanged). Each one
 * maps to a ClickHouse error code and an HTTP status, and reaches the client in ClickHouse's
 * `Code: N. DB::Exception: … (NAME)` form, so `@clickhouse/client` parses it exactly as it parses a
 * server's.
 *
 * - `AUTHENTICATION_FAILED` (516, HTTP 403): the user or password does not match the server's.
 * - `BAD_ARGUMENTS` (36, HTTP 400): a request parameter this server does not support (sessions,
 *   roles, native compression) or a malformed one (a setting or parameter name that is not an
 *   identifier, a query on neither the `query` parameter nor the body, a write over GET).
 *   An `INSERT … VALUES` with its rows in the text, whose tail the engine would run as statements.
 *   A binary body (RowBinary, Native …) after a head that is not `INSERT INTO [db.]table [(columns)]
 *   [SETTINGS …] FORMAT …` (a table function, a parameter for the table, a SELECT, its own FROM INFILE).
 * - `SYNTAX_ERROR` (62, HTTP 400): the request's SQL is not exactly one statement (more than one, or
 *   one that does not parse), as the engine's parser judged it before anything ran.
 * - `REQUEST_TOO_LARGE` (36, HTTP 413): the body is over `STORAGE_MAX_BODY_BYTES`.
 * - `UNKNOWN_HANDLER` (HTTP 404): a path other than `/` and `/ping`.
 */
export const STORAGE_CATALOGUE = defineErrors({
  AUTHENTICATION_FAILED: {
    status: 403,
    retryable: false,
    message: "the user or password does not match the server's",
  },
  BAD_ARGUMENTS: {
    status: 400,
    retryable: false,
    message: 'a request parameter this server does not support, or a malformed one',
  },
  SYNTAX_ERROR: { status: 400, retryable: false, message: "the request's SQL is not exactly one statement" },
  REQUEST_TOO_LARGE: { status: 413, retryable: false, message: 'the body is over STORAGE_MAX_BODY_BYTES' },
  UNKNOWN_HANDLER: { status: 404, retryable: false, message: 'a path other than / and /ping' },
})

export type StorageErrorCode = keyof typeof STORAGE_CATALOGUE

/** How each code reaches a ClickHouse client: the engine's error code and name. */
const CLICKHOUSE: Record<StorageErrorCode, { clickhouseCode: number; name: string }> = {
  AUTHENTICATION_FAILED: { clickhouseCode: 516, name: 'AUTHENTICATION_FAILED' },
  BAD_ARGUMENTS: { clickhouseCode: 36, name: 'BAD_ARGUMENTS' },
  SYNTAX_ERROR: { clickhouseCode: 62, name: 'SYNTAX_ERROR' },
  REQUEST_TOO_LARGE: { clickhouseCode: 36, name: 'BAD_ARGUMENTS' },
  UNKNOWN_HANDLER: { clickhouseCode: 36, name: 'BAD_ARGUMENTS' },
}

// Only the client can fix any of these: the same request fails the same way again.
export class StorageError extends CatalogueError<StorageErrorCode> {
  readonly component = 'storage'
  declare readonly statusCode: number

  constructor(code: StorageErrorCode, message: string) {
    super(STORAGE_CATALOGUE, code, message)
  }

  get status(): number {
    return this.statusCode
  }

  get clickhouseCode(): number {
    return CLICKHOUSE[this.code].clickhouseCode
  }

  /** The message in the engine's own shape. */
  get clickhouseMessage(): string {
    return `Code: ${this.clickhouseCode}. DB::Exception: ${this.message}. (${CLICKHOUSE[this.code].name})`
  }
}
