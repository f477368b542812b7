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

export function createLogger(
  name: string,
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info'
  const opts = { name, level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }
  return options.destination ? pino(opts, options.destination) : pino(opts)
}
