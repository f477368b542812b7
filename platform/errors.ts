/**
 * The base of every component's error type. Each component (agent, processor, query API, …) declares
 * its own subclass with a catalogue of codes; `retryable` tells a caller whether trying the same
 * operation again can help (a broker that is down) or not (a malformed payload).
 */
export abstract class ProcstreamError extends Error {
  abstract readonly component: string
  readonly code: string
  readonly retryable: boolean

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.retryable = options.retryable ?? false
    this.name = new.target.name
  }

  toJSON(): { component: string; code: string; message: string; retryable: boolean } {
    return { component: this.component, code: this.code, message: this.message, retryable: this.retryable }
  }
}

/** Bad configuration found at start-up: never retryable, the operator must fix the environment. */
export class ConfigError extends ProcstreamError {
  readonly component = 'config'
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

/** A local service (Kafka, NATS) or a connection to one that could not be brought up. */
export class ServiceError extends ProcstreamError {
  readonly component = 'service'
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
