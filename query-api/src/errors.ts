import { ProcstreamError } from '#platform/errors.ts'

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
 */
export const QUERY_API_ERRORS = {
  BAD_REQUEST: 400,
  SQL_REJECTED: 400,
  NOT_FOUND: 404,
  TOO_MANY_STREAMS: 429,
  SQL_BUSY: 429,
  BACKEND: 503,
  NO_AGENT: 504,
  REPORT_BUSY: 429,
  REPORT_NOT_READY: 409,
  REPORT_UNAVAILABLE: 503,
} as const

export type QueryApiErrorCode = keyof typeof QUERY_API_ERRORS

export class QueryApiError extends ProcstreamError {
  readonly component = 'query-api'
  declare readonly code: QueryApiErrorCode
  readonly statusCode: number

  constructor(code: QueryApiErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, {
      retryable:
        code === 'BACKEND' ||
        code === 'TOO_MANY_STREAMS' ||
        code === 'SQL_BUSY' ||
        code === 'NO_AGENT' ||
        code === 'REPORT_BUSY',
      cause: options.cause,
    })
    this.statusCode = QUERY_API_ERRORS[code]
  }
}
