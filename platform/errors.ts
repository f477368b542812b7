/**
 * One shape for every component's error catalogue: each code, the HTTP status it is answered with
 * (for the components that answer HTTP), whether retrying the same operation can help (a broker that
 * is down) or not (a malformed payload), and what it means. The meaning is the documentation
 * (READMEs, test/__tests__/error-catalogues.test.ts checks their tables against it); the message an
 * error carries says what went wrong this time, in the thrower's words.
 */
export interface ErrorSpec {
  /** The HTTP status the component answers with; absent for components that answer no HTTP. */
  readonly status?: number
  /**
   * The default for errors of this code. A thrower may say otherwise where the code covers both
   * kinds (the agent's INGEST_REFUSED depends on the gateway's status).
   */
  readonly retryable: boolean
  /** What the code means, in one sentence. */
  readonly message: string
}

export type ErrorCatalogue<C extends string = string> = { readonly [K in C]: ErrorSpec }

/** A catalogue, checked against the shape and frozen, with its codes kept as a type. */
export function defineErrors<const T extends Record<string, ErrorSpec>>(catalogue: T): Readonly<T> {
  return Object.freeze(catalogue)
}

/** `{ CODE: status }` of a catalogue whose every code has a status: what a status lookup needs. */
export function statusesOf<T extends Record<string, { readonly status: number }>>(
  catalogue: T,
): { readonly [K in keyof T]: T[K]['status'] } {
  const out: Record<string, number> = {}
  for (const [code, spec] of Object.entries(catalogue)) out[code] = spec.status
  return Object.freeze(out) as { readonly [K in keyof T]: T[K]['status'] }
}

/**
 * The base of every component's error type. Each component (agent, processor, query API, …) declares
 * its own subclass of CatalogueError with a catalogue of codes (defineErrors).
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

/**
 * An error of a catalogue: its retryable default and HTTP status come from the code, so a thrower
 * cannot answer a code with another status than the one documented. `statusCode` is the name
 * fastify's and our error handlers read.
 */
export abstract class CatalogueError<C extends string> extends ProcstreamError {
  declare readonly code: C
  readonly statusCode: number | undefined

  constructor(
    catalogue: ErrorCatalogue<C>,
    code: C,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, { retryable: options.retryable ?? catalogue[code].retryable, cause: options.cause })
    this.statusCode = catalogue[code].status
  }
}

export const PLATFORM_ERRORS = defineErrors({
  CONFIG_INVALID: {
    retryable: false,
    message: 'a setting is missing or invalid at start-up; the operator must fix the environment',
  },
})

/** Bad configuration found at start-up: never retryable, the operator must fix the environment. */
export class ConfigError extends CatalogueError<keyof typeof PLATFORM_ERRORS> {
  readonly component = 'config'
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(PLATFORM_ERRORS, 'CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`)
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
