import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import type { Authenticator } from '#platform/auth/authenticator.ts'
import { principalOf } from '../auth.ts'
import { QueryApiError } from '../errors.ts'
import { SqlBusy, SqlRejected } from '../sql/errors.ts'
import { runTenantSql, TenantSlots, type SqlLimits } from '../sql/run.ts'
import { SCOPED_TABLES } from '../sql/scope.ts'

export interface SqlRouteDeps {
  /** The connection tenant SQL runs on (platform/clickhouse.ts createTenantSqlClickHouse); none: 503. */
  clickhouse: ClickHouseClient | undefined
  database: string
  keys: Authenticator
  limits: SqlLimits
  /** Pass the tenant in the row policy's setting too (on a server as CLICKHOUSE_SQL_USER). */
  tenantSetting: boolean
}

/**
 * `POST /api/v1/sql`: ad-hoc ClickHouse SQL over the key's tenant only, for keys with the `sql` scope.
 * Body: JSON `{"query": "…"}` or the query as text/plain. `GET /api/v1/sql/tables` lists what a query
 * may read. How the tenant's scope is enforced: query-api/src/sql/run.ts and render.ts.
 */
export function sqlRoutes(app: FastifyInstance, deps: SqlRouteDeps): void {
  const slots = new TenantSlots(deps.limits.maxConcurrentPerTenant ?? 2)
  void app.register((api, _opts, done) => {
    api.addContentTypeParser(
      'text/plain',
      { parseAs: 'string', bodyLimit: deps.limits.maxQueryChars * 4 },
      (_req, body, done) => {
        done(null, { query: body as string })
      },
    )
    api.post('/api/v1/sql', async (req, reply) => {
      const principal = await principalOf(req, deps.keys, 'sql')
      const query = (req.body as { query?: unknown } | undefined)?.query
      if (typeof query !== 'string')
        throw new QueryApiError(
          'BAD_REQUEST',
          'the body must be {"query": "SELECT …"} or the query as text/plain',
        )
      const clickhouse = deps.clickhouse
      if (clickhouse === undefined)
        throw new QueryApiError('BACKEND', 'ad-hoc SQL is not set up in this process')
      try {
        return await slots.run(principal.tenant, () =>
          runTenantSql(clickhouse, deps.database, principal.tenant, query, deps.limits, {
            tenantSetting: deps.tenantSetting,
          }),
        )
      } catch (err) {
        if (err instanceof SqlRejected) throw new QueryApiError('SQL_REJECTED', err.message, { cause: err })
        if (err instanceof SqlBusy) {
          void reply.header('retry-after', '1')
          throw new QueryApiError('SQL_BUSY', err.message, { cause: err })
        }
        // Not the query's fault (the engine is away or overloaded); its text stays in the log only.
        req.log.error({ err }, 'tenant SQL failed')
        throw new QueryApiError('BACKEND', 'the SQL engine could not answer; try again', { cause: err })
      }
    })
    api.get('/api/v1/sql/tables', async (req) => {
      await principalOf(req, deps.keys, 'sql')
      return {
        tables: SCOPED_TABLES.map((t) => ({ name: t.name, description: t.description, columns: t.columns })),
      }
    })
    done()
  })
}
