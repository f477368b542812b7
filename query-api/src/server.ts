import type { ClickHouseClient } from '@clickhouse/client'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from '../../platform/logger.ts'
import type { KeyResolver } from './auth.ts'
import { QueryApiError } from './errors.ts'
import { dashboardRoutes } from './routes/dashboard.ts'
import { healthRoutes, type ReadinessCheck } from './routes/health.ts'
import { seriesRoutes } from './routes/series.ts'

export interface QueryApiDeps {
  clickhouse: ClickHouseClient
  database: string
  keys: KeyResolver
  readiness: ReadinessCheck[]
  logger: Logger
  maxPoints: number
}

export async function buildQueryApi(deps: QueryApiDeps): Promise<FastifyInstance> {
  // Typed as fastify's base logger so route modules take a plain FastifyInstance; it is the same pino.
  const loggerInstance: FastifyBaseLogger = deps.logger
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  })
  // Every failure answers the same JSON shape, with no stack trace, whatever threw it.
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof QueryApiError) {
      return reply.code(err.statusCode).send({ error: err.message, code: err.code })
    }
    const status =
      typeof (err as { statusCode?: unknown }).statusCode === 'number'
        ? (err as { statusCode: number }).statusCode
        : 500
    if (status >= 500) req.log.error({ err }, 'request failed')
    return reply.code(status).send({
      error: status >= 500 ? 'internal error' : (err as Error).message,
      code: status >= 500 ? 'INTERNAL' : 'BAD_REQUEST',
    })
  })
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: `no route ${req.method} ${req.url.split('?')[0] ?? ''}`, code: 'NOT_FOUND' }),
  )
  healthRoutes(app, deps.readiness)
  seriesRoutes(app, deps)
  await dashboardRoutes(app)
  return app
}
