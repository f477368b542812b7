import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import type { Logger } from '#platform/logger.ts'
import type { Authenticator, KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { createHttpApp } from '#platform/http-app.ts'
import type { KeyStore } from '#platform/auth/key-store.ts'
import type { TlsFiles } from '#platform/tls.ts'
import { adminRoutes } from './routes/admin.ts'
import { QueryApiError } from './errors.ts'
import { dashboardRoutes } from './routes/dashboard.ts'
import { healthRoutes, type ReadinessCheck } from '#platform/health-routes.ts'
import { seriesRoutes } from './routes/series.ts'
import { fleetRoutes } from './routes/fleet.ts'
import { liveRoutes } from './routes/live.ts'
import { prometheusRoutes } from './routes/prometheus.ts'
import { sqlRoutes } from './routes/sql.ts'
import { controlRoutes } from './routes/control.ts'
import { reportRoutes, type ReportSettings } from './routes/reports.ts'
import { DEFAULT_RETENTION } from './report/window.ts'
import { keyRateLimit } from './key-rate-limit.ts'
import { QueryApiMetrics } from './metrics.ts'
import { pipelineRoutes } from './routes/pipeline.ts'
import type { PipelineTarget } from './pipeline/targets.ts'
import { METRICS_CONTENT_TYPE } from '#platform/metrics-server.ts'
import { TenantRateLimiter } from '#platform/rate-limit.ts'
import type { NatsConnection } from 'nats'
import type { SqlLimits } from './sql/run.ts'
import { QUERY_API_DEFAULTS as DEFAULTS, type QueryApiConfig } from './config.ts'

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
  /** Reports (POST /api/v1/reports); without it: no browser for PDFs, default limits and retention. */
  reports?: ReportSettings
  /** GET /api/v1/pipeline: the components it reads (none: an empty answer) and each one's time limit. */
  pipeline?: { targets: readonly PipelineTarget[]; timeoutMs: number }
}

export const DEFAULT_SQL_LIMITS: SqlLimits = Object.freeze({
  maxQueryChars: 64 * 1024,
  maxRows: DEFAULTS.sqlMaxRows,
  maxExecutionSeconds: DEFAULTS.sqlTimeoutS,
  maxMemoryBytes: DEFAULTS.sqlMaxMemoryBytes,
})

/**
 * The server's options that come from QueryApiConfig, for every process that serves the API (the
 * stand-alone query API and the all-in-one `npm start`); they add what they connect to themselves.
 */
export function queryApiOptionsFrom(
  api: QueryApiConfig,
  nats: NatsConnection | undefined,
): Pick<
  QueryApiDeps,
  'maxPoints' | 'live' | 'rateLimit' | 'sql' | 'promql' | 'tls' | 'reports' | 'pipeline'
> {
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
    reports: api.reports,
    pipeline: { targets: api.pipelineTargets, timeoutMs: api.pipelineTimeoutMs },
  }
}

export async function buildQueryApi(deps: QueryApiDeps): Promise<FastifyInstance> {
  const app = createHttpApp({
    logger: deps.logger,
    // Browsers open spare connections that never carry a request; Node counts those as busy, so a
    // graceful close would wait out headersTimeout (60 s) for them. Queries are cheap to retry.
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
    tls: deps.tls,
    // Every failure answers the same JSON shape, with no stack trace, whatever threw it.
    errorReply: (err) =>
      err instanceof QueryApiError
        ? { status: err.statusCode, code: err.code, message: err.message }
        : undefined,
  })
  const metrics = new QueryApiMetrics()
  metrics.install(app)
  const rate = deps.rateLimit ?? {
    requestsPerS: DEFAULTS.rateLimitPerKey,
    burstS: DEFAULTS.rateLimitBurstS,
  }
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
  // Without a key, as the gateway's: installation-wide counters with no tenant label (metrics.ts).
  app.get('/metrics', (_req, reply) => reply.type(METRICS_CONTENT_TYPE).send(metrics.render()))
  pipelineRoutes(app, {
    keys: deps.keys,
    targets: deps.pipeline?.targets ?? [],
    timeoutMs: deps.pipeline?.timeoutMs ?? DEFAULTS.pipelineTimeoutMs,
  })
  seriesRoutes(app, deps)
  fleetRoutes(app, deps)
  liveRoutes(app, {
    nats: deps.live?.nats,
    keys: deps.keys,
    maxBufferedBytes: deps.live?.maxBufferedBytes ?? DEFAULTS.liveMaxBufferedBytes,
    maxStreamsPerTenant: deps.live?.maxStreamsPerTenant ?? DEFAULTS.liveMaxStreamsPerTenant,
    heartbeatMs: 15_000,
  })
  prometheusRoutes(app, {
    clickhouse: deps.clickhouse,
    database: deps.database,
    keys: deps.keys,
    maxPoints: deps.maxPoints,
    timeoutMs: deps.promql?.timeoutMs ?? DEFAULTS.queryTimeoutMs,
    maxBuckets: deps.promql?.maxBuckets ?? DEFAULTS.queryMaxBuckets,
    cacheTtlMs: deps.promql?.cacheTtlMs ?? DEFAULTS.queryCacheTtlMs,
    onCacheLookup: metrics.cacheLookup,
  })
  sqlRoutes(app, {
    clickhouse: deps.sqlClickhouse,
    tenantSetting: deps.sqlTenantSetting ?? false,
    database: deps.database,
    keys: deps.keys,
    limits: deps.sql ?? DEFAULT_SQL_LIMITS,
  })
  reportRoutes(app, {
    clickhouse: deps.clickhouse,
    database: deps.database,
    keys: deps.keys,
    logger: deps.logger,
    settings: deps.reports ?? {
      chromiumPath: undefined,
      maxConcurrentPerTenant: DEFAULTS.reportMaxConcurrent,
      resultTtlMs: DEFAULTS.reportResultTtlS * 1000,
      retention: DEFAULT_RETENTION,
      points: DEFAULTS.reportPoints,
    },
  })
  if (deps.admin) adminRoutes(app, deps.admin)
  // Agent control over the same service connection as /api/live; without NATS it answers 503.
  controlRoutes(app, { nats: deps.live?.nats, keys: deps.keys })
  await dashboardRoutes(app)
  return app
}
