import type { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import type { ReadinessCheck } from '#platform/health-routes.ts'
import type { Logger } from '#platform/logger.ts'
import type { QueryApiConfig } from '../query-api/src/config.ts'
import { buildQueryApi, queryApiOptionsFrom } from '../query-api/src/server.ts'
import type { Core } from './core.ts'
import { localPipelineTargets } from './pipeline-targets.ts'

/** The query API and dashboard on this process's ClickHouse; returns the URL it listens on. */
export async function startQueryApi(o: {
  apiConfig: Readonly<QueryApiConfig>
  core: Core
  auth: KeyAuthenticator
  readiness: ReadinessCheck[]
  gatewayUrl: string
  logger: Logger
  stops: (() => Promise<void>)[]
}): Promise<string> {
  const { apiConfig, core, auth } = o
  const url = `${apiConfig.tls ? 'https' : 'http'}://${apiConfig.host}:${String(apiConfig.port)}`
  const app = await buildQueryApi({
    clickhouse: core.clickhouse,
    sqlClickhouse: core.sqlClickhouse,
    sqlTenantSetting: core.processorConfig.clickhouse.sqlUser !== undefined,
    database: core.processorConfig.clickhouse.database,
    keys: auth,
    admin: { keys: auth, store: core.store },
    logger: o.logger,
    ...queryApiOptionsFrom(apiConfig, core.nc),
    pipeline: {
      targets:
        apiConfig.pipelineTargets.length > 0
          ? apiConfig.pipelineTargets
          : localPipelineTargets({
              gatewayUrl: o.gatewayUrl,
              processorMetrics: core.processorMetrics,
              agentMetricsListen: process.env.AGENT_METRICS_LISTEN,
              queryApiUrl: url,
            }),
      timeoutMs: apiConfig.pipelineTimeoutMs,
    },
    readiness: o.readiness,
  })
  await app.listen({ host: apiConfig.host, port: apiConfig.port })
  o.stops.push(() => app.close())
  return url
}
