import type { ClickHouseClient } from '@clickhouse/client'
import { tenantSqlAccessStatements, type TenantSqlUser } from './access.ts'
import { bootstrapStatements, migrations, type DdlOptions } from './ddl.ts'

/**
 * Apply the migrations a database lacks, in order. Safe to run from several processes at once and on
 * every start: each statement is idempotent and a version is recorded only after all its statements ran.
 * In the cluster profile each statement runs ON CLUSTER, so it returns once every node has run it (or
 * fails when one has not within the server's distributed_ddl_task_timeout), and the version is
 * recorded in a table every node replicates.
 */
export async function migrate(
  client: ClickHouseClient,
  options: DdlOptions,
  access: { tenantSqlUser?: TenantSqlUser | undefined } = {},
): Promise<number[]> {
  for (const query of bootstrapStatements(options.database, options)) await client.command({ query })
  const rs = await client.query({
    query: `SELECT version FROM ${options.database}.schema_migrations FINAL`,
    format: 'JSONEachRow',
  })
  const applied = new Set((await rs.json<{ version: number }>()).map((r) => r.version))
  const done: number[] = []
  for (const m of migrations(options)) {
    if (applied.has(m.version)) continue
    for (const query of m.statements) await client.command({ query })
    await client.insert({
      table: `${options.database}.schema_migrations`,
      values: [{ version: m.version, description: m.description }],
      format: 'JSONEachRow',
    })
    done.push(m.version)
  }
  // Not a numbered migration: it follows the configured user and password on every start.
  if (access.tenantSqlUser)
    for (const query of tenantSqlAccessStatements(options, access.tenantSqlUser))
      await client.command({ query })
  return done
}
