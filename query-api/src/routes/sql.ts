import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import type { Authenticator } from '../../../platform/auth/authenticator.ts'
import { principalOf } from '../auth.ts'
import { QueryApiError } from '../errors.ts'
import { runTenantSql, type SqlLimits } from '../sql/run.ts'
import { SCOPED_TABLES } from '../sql/scope.ts'
import { SqlRejected } from '../sql/validate.ts'

export interface SqlRouteDeps {
  clickhouse: ClickHouseClient
  database: string
  keys: Authenticator
  limits: SqlLimits
}

/**
 * `POST /api/v1/sql`: ad-hoc ClickHouse SQL over the key's tenant only. Body: JSON `{"query": "…"}` or
 * the query as text/plain. `GET /api/v1/sql/tables` lists what a query may read.
 */
export function sqlRoutes(app: FastifyInstance, deps: SqlRouteDeps): void {
  void app.register((api, _opts, done) => {
    api.addContentTypeParser(
      'text/plain',
      { parseAs: 'string', bodyLimit: deps.limits.maxQueryChars * 4 },
      (_req, body, done) => {
        done(null, { query: body as string })
      },
    )
    api.post('/api/v1/sql', async (req) => {
      const principal = await principalOf(req, deps.keys, 'read')
      const query = (req.body as { query?: unknown } | undefined)?.query
      if (typeof query !== 'string')
        throw new QueryApiError(
          'BAD_REQUEST',
          'the body must be {"query": "SELECT …"} or the query as text/plain',
        )
      try {
        return await runTenantSql(deps.clickhouse, deps.database, principal.tenant, query, deps.limits)
      } catch (err) {
        if (err instanceof SqlRejected) throw new QueryApiError('SQL_REJECTED', err.message, { cause: err })
        throw new QueryApiError('BACKEND', `SQL query failed: ${String(err)}`, { cause: err })
      }
    })
    api.get('/api/v1/sql/tables', async (req) => {
      await principalOf(req, deps.keys, 'read')
      return { tables: SCOPED_TABLES.map((t) => ({ name: t.name, description: t.description })) }
    })
    done()
  })
}
