import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger } from 'pino'

/**
 * Structured JSON logs (pino, as fastify ships it). Secrets never reach a log: every path where a key,
 * password or authorization header could appear is redacted here, once, for every component.
 */
export const REDACT_PATHS = [
  'key',
  'apiKey',
  'password',
  'authorization',
  'req.headers.authorization',
  'headers.authorization',
  '*.key',
  '*.apiKey',
  '*.password',
  '*.authorization',
]

let defaultDestination: DestinationStream | undefined

/**
 * Where loggers made from now on without a destination of their own write, instead of stdout. The
 * test setup (test/support/logger-setup.ts) collects them there, loggers made by the code under test
 * included, so that a passing test's logs stay out of the run's output and a failing one's are shown.
 */
export function setDefaultLogDestination(destination: DestinationStream | undefined): void {
  defaultDestination = destination
}

export function createLogger(
  name: string,
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info'
  const opts = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }
  const destination = options.destination ?? defaultDestination
  return destination ? pino(opts, destination) : pino(opts)
}
