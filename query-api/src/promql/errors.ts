import { defineErrors } from '#platform/errors.ts'

/**
 * Prometheus's error types, as its HTTP API answers them (`{"status":"error","errorType":…,"error":…}`),
 * so Grafana shows our messages the way it shows Prometheus's:
 * - `bad_data` (400): the query or a parameter is malformed, or uses PromQL this API does not support;
 *   the message names what. Retrying cannot help.
 * - `execution` (422): a well-formed query that cannot be evaluated (too many samples or points,
 *   many-to-many matching, a bad regular expression). Retrying cannot help.
 * - `timeout` (503): the query ran past its time limit. A narrower query may succeed.
 * - `unavailable` (503): the storage did not answer. A retry may succeed.
 */
export const PROMQL_CATALOGUE = defineErrors({
  bad_data: {
    status: 400,
    retryable: false,
    message: 'the query or a parameter is malformed or unsupported',
  },
  execution: { status: 422, retryable: false, message: 'a well-formed query that cannot be evaluated' },
  timeout: { status: 503, retryable: false, message: 'the query ran past its time limit' },
  unavailable: { status: 503, retryable: true, message: 'the storage did not answer' },
})

export type PromErrorType = keyof typeof PROMQL_CATALOGUE

export class PromQLError extends Error {
  override readonly name = 'PromQLError'
  readonly statusCode: number
  constructor(
    readonly type: PromErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.statusCode = PROMQL_CATALOGUE[type].status
  }
}

/** A parse error, with Prometheus's wording: `parse error at char N: …` (1-based, as Prometheus counts). */
export function parseError(pos: number, message: string): PromQLError {
  return new PromQLError('bad_data', `parse error at char ${pos + 1}: ${message}`)
}
