import { CatalogueError, defineErrors, statusesOf } from '#platform/errors.ts'

/**
 * Every error the query API answers with: a code, the HTTP status and whether retrying can help.
 * The auth codes are thrown as platform/auth/errors.ts AuthError and answered in the same shape.
 *
 * | code            | status | retryable | meaning                                                   |
 * | --------------- | ------ | --------- | --------------------------------------------------------- |
 * | UNAUTHENTICATED | 401    | no        | no key, or a key that is wrong, revoked or expired        |
 * | FORBIDDEN       | 403    | no        | the key lacks the scope (read, admin) the path needs      |
 * | INVALID         | 400    | no        | an admin request with a bad tenant, scope or expiry       |
 * | CONFLICT        | 409    | no        | the tenant already exists                                 |
 * | UNKNOWN         | 404    | no        | no such tenant or key (admin API)                         |
 * | BAD_REQUEST     | 400    | no        | a parameter is missing, malformed or out of range         |
 * | SQL_REJECTED    | 400    | no        | SQL refused: not one SELECT, reads outside the tenant's   |
 * |                 |        |           | tables, a denied function, a syntax error, or a limit hit |
 * | NOT_FOUND       | 404    | no        | no such route or no such host for this tenant             |
 * | TOO_MANY_STREAMS| 429    | yes       | the tenant holds its limit of live streams in this process|
 * | SQL_BUSY        | 429    | yes       | the tenant runs QUERY_SQL_MAX_CONCURRENT queries already  |
 * | RATE_LIMITED    | 429    | yes       | the key asked faster than QUERY_RATE_LIMIT_PER_KEY; see   |
 * |                 |        |           | Retry-After (answered by key-rate-limit.ts)               |
 * | BACKEND         | 503    | yes       | ClickHouse (or another dependency) failed or timed out    |
 * | NO_AGENT        | 504    | yes       | agent control: no agent of the target answered in time    |
 * | REPORT_BUSY     | 429    | yes       | the tenant makes REPORT_MAX_CONCURRENT reports already    |
 * | REPORT_NOT_READY| 409    | no        | a report's file asked for before it is done, or it failed |
 * | REPORT_UNAVAILABLE| 503  | no        | a PDF asked for without a browser (REPORT_CHROMIUM_PATH)  |
 * | INTERNAL        | 500    | yes       | a failure of the query API itself, logged there           |
 */
export const QUERY_API_CATALOGUE = defineErrors({
  BAD_REQUEST: {
    status: 400,
    retryable: false,
    message: 'a parameter is missing, malformed or out of range',
  },
  SQL_REJECTED: {
    status: 400,
    retryable: false,
    message: "SQL refused: not one SELECT, reads outside the tenant's tables, a denied function, a limit hit",
  },
  NOT_FOUND: { status: 404, retryable: false, message: 'no such route or no such host for this tenant' },
  TOO_MANY_STREAMS: {
    status: 429,
    retryable: true,
    message: 'the tenant holds its limit of live streams in this process',
  },
  SQL_BUSY: {
    status: 429,
    retryable: true,
    message: 'the tenant runs QUERY_SQL_MAX_CONCURRENT queries already',
  },
  BACKEND: {
    status: 503,
    retryable: true,
    message: 'ClickHouse (or another dependency) failed or timed out',
  },
  NO_AGENT: {
    status: 504,
    retryable: true,
    message: 'agent control: no agent of the target answered in time',
  },
  REPORT_BUSY: {
    status: 429,
    retryable: true,
    message: 'the tenant makes REPORT_MAX_CONCURRENT reports already',
  },
  REPORT_NOT_READY: {
    status: 409,
    retryable: false,
    message: "a report's file asked for before it is done, or it failed",
  },
  REPORT_UNAVAILABLE: {
    status: 503,
    retryable: false,
    message: 'a PDF asked for without a browser (REPORT_CHROMIUM_PATH)',
  },
  // Answered by key-rate-limit.ts and server.ts's error handler rather than thrown as QueryApiError.
  RATE_LIMITED: {
    status: 429,
    retryable: true,
    message: 'the key asked faster than QUERY_RATE_LIMIT_PER_KEY; see Retry-After',
  },
  INTERNAL: { status: 500, retryable: true, message: 'a failure of the query API itself, logged there' },
})

/** `{ CODE: status }`, as importers read it. */
export const QUERY_API_ERRORS = statusesOf(QUERY_API_CATALOGUE)

export type QueryApiErrorCode = keyof typeof QUERY_API_CATALOGUE

export class QueryApiError extends CatalogueError<QueryApiErrorCode> {
  readonly component = 'query-api'
  declare readonly statusCode: number

  constructor(code: QueryApiErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(QUERY_API_CATALOGUE, code, message, { cause: options.cause })
  }
}
