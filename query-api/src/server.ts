import type { ClickHouseClient } from '@clickhouse/client'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from '../../platform/logger.ts'
import type { Authenticator, KeyAuthenticator } from '../../platform/auth/authenticator.ts'
import { AuthError, authErrorHeaders } from '../../platform/auth/errors.ts'
import type { KeyStore } from '../../platform/auth/key-store.ts'
import type { TlsFiles } from '../../platform/tls.ts'
import { adminRoutes } from './routes/admin.ts'
import { QueryApiError } from './errors.ts'
import { dashboardRoutes } from './routes/dashboard.ts'
import { healthRoutes, type ReadinessCheck } from '../../platform/health-routes.ts'
import { seriesRoutes } from './routes/series.ts'
import { fleetRoutes } from './routes/fleet.ts'
import { liveRoutes } from './routes/live.ts'
import { prometheusRoutes } from './routes/prometheus.ts'
import { sqlRoutes } from './routes/sql.ts'
import { keyRateLimit } from './key-rate-limit.ts'
import { TenantRateLimiter } from '../../platform/rate-limit.ts'
import type { NatsConnection } from 'nats'
import type { SqlLimits } from './sql/run.ts'
import type { QueryApiConfig } from './config.ts'

export interface QueryApiDeps {
  clickhouse: ClickHouseClient
  /**
   * The connection tenant SQL runs on, apart from `clickhouse` (platform/clickhouse.ts
   * createTenantSqlClickHouse). Without it POST /api/v1/sql answers 503: tenant SQL never falls back
   * to the sessions ingestion and the dashboards share.
   */
  sqlClickhouse?: ClickHouseClient | undefined
  /** Whether `sqlClickhouse` is a server user with the tenant row policy (CLICKHOUSE_SQL_USER). */
  sqlTenantSetting?: boolean
  database: string
  keys: Authenticator
  /** With both, the admin API (tenants and keys) is served too. */
  admin?: { keys: KeyAuthenticator; store: KeyStore } | undefined
  tls?: TlsFiles | undefined
  readiness: ReadinessCheck[]
  logger: Logger
  maxPoints: number
  /** Server-Sent Events of stored points (GET /api/live); without NATS that route answers 503. */
  live?: { nats: NatsConnection | undefined; maxBufferedBytes: number; maxStreamsPerTenant: number }
  /** The Prometheus API's limits; defaults as in config.ts. */
  promql?: { timeoutMs: number; maxBuckets: number; cacheTtlMs: number }
  /** POST /api/v1/sql limits; defaults as in config.ts. */
  sql?: SqlLimits
  /** Requests per second each key may make, with a burst of `burstS` seconds of that rate. */
  rateLimit?: { requestsPerS: number; burstS: number }
}

export const DEFAULT_SQL_LIMITS: SqlLimits = Object.freeze({
  maxQueryChars: 64 * 1024,
  maxRows: 10_000,
  maxExecutionSeconds: 30,
  maxMemoryBytes: 1024 ** 3,
})

/**
 * The server's options that come from QueryApiConfig, for every process that serves the API (the
 * stand-alone query API and the all-in-one `npm start`); they add what they connect to themselves.
 */
export function queryApiOptionsFrom(
  api: QueryApiConfig,
  nats: NatsConnection | undefined,
): Pick<QueryApiDeps, 'maxPoints' | 'live' | 'rateLimit' | 'sql' | 'promql' | 'tls'> {
  return {
    maxPoints: api.maxPoints,
    live: {
      nats,
      maxBufferedBytes: api.liveMaxBufferedBytes,
      maxStreamsPerTenant: api.liveMaxStreamsPerTenant,
    },
    rateLimit: { requestsPerS: api.rateLimitPerKey, burstS: api.rateLimitBurstS },
    sql: {
      ...DEFAULT_SQL_LIMITS,
      maxRows: api.sqlMaxRows,
      maxExecutionSeconds: api.sqlTimeoutS,
      maxMemoryBytes: api.sqlMaxMemoryBytes,
      maxConcurrentPerTenant: api.sqlMaxConcurrent,
    },
    promql: {
      timeoutMs: api.queryTimeoutMs,
      maxBuckets: api.queryMaxBuckets,
      cacheTtlMs: api.queryCacheTtlMs,
    },
    tls: api.tls,
  }
}

export async function buildQueryApi(deps: QueryApiDeps): Promise<FastifyInstance> {
  // Typed as fastify's base logger so route modules take a plain FastifyInstance; it is the same pino.
  const loggerInstance: FastifyBaseLogger = deps.logger
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    // Browsers open spare connections that never carry a request; Node counts those as busy, so a
    // graceful close would wait out headersTimeout (60 s) for them. Queries are cheap to retry.
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
    ...(deps.tls && { https: { cert: deps.tls.cert, key: deps.tls.key } }),
  }) as unknown as FastifyInstance
  // Every failure answers the same JSON shape, with no stack trace, whatever threw it.
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof AuthError) {
      void reply.headers(authErrorHeaders(err))
      return reply.code(err.statusCode).send({ error: err.message, code: err.code })
    }
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
  const rate = deps.rateLimit ?? { requestsPerS: 100, burstS: 5 }
  keyRateLimit(
    app,
    deps.keys,
    new TenantRateLimiter({
      requestsPerS: rate.requestsPerS,
      recordsPerS: rate.requestsPerS,
      burstS: rate.burstS,
    }),
  )
  healthRoutes(app, deps.readiness)
  seriesRoutes(app, deps)
  fleetRoutes(app, deps)
  liveRoutes(app, {
    nats: deps.live?.nats,
    keys: deps.keys,
    maxBufferedBytes: deps.live?.maxBufferedBytes ?? 1024 * 1024,
    maxStreamsPerTenant: deps.live?.maxStreamsPerTenant ?? 100,
    heartbeatMs: 15_000,
  })
  prometheusRoutes(app, {
    clickhouse: deps.clickhouse,
    database: deps.database,
    keys: deps.keys,
    maxPoints: deps.maxPoints,
    timeoutMs: deps.promql?.timeoutMs ?? 30_000,
    maxBuckets: deps.promql?.maxBuckets ?? 2_000_000,
    cacheTtlMs: deps.promql?.cacheTtlMs ?? 10_000,
  })
  sqlRoutes(app, {
    clickhouse: deps.sqlClickhouse,
    tenantSetting: deps.sqlTenantSetting ?? false,
    database: deps.database,
    keys: deps.keys,
    limits: deps.sql ?? DEFAULT_SQL_LIMITS,
  })
  if (deps.admin) adminRoutes(app, deps.admin)
  await dashboardRoutes(app)
  return app
}
