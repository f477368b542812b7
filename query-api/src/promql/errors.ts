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
export type PromErrorType = 'bad_data' | 'execution' | 'timeout' | 'unavailable'

const STATUS: Record<PromErrorType, number> = {
  bad_data: 400,
  execution: 422,
  timeout: 503,
  unavailable: 503,
}

export class PromQLError extends Error {
  override readonly name = 'PromQLError'
  readonly statusCode: number
  constructor(
    readonly type: PromErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.statusCode = STATUS[type]
  }
}

/** A parse error, with Prometheus's wording: `parse error at char N: …` (1-based, as Prometheus counts). */
export function parseError(pos: number, message: string): PromQLError {
  return new PromQLError('bad_data', `parse error at char ${pos + 1}: ${message}`)
}
