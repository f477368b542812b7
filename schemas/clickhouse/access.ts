import { clickHouseString } from '#platform/clickhouse-literal.ts'
import { layout, POINTS_TABLE, POINTS_TIERS, ROLLUP_TIERS, SERIES_TABLE, type DdlOptions } from './ddl.ts'

/**
 * The ClickHouse user tenant SQL runs as on a server (CLICKHOUSE_SQL_USER), with what the engine
 * itself enforces under the query API's own checks (query-api/src/sql/): it may SELECT the stored
 * tables a tenant's SQL reads and nothing else (no other table, no system table beyond what the
 * server's `select_from_system_db_requires_grant` leaves, no table function, file, URL, dictionary or
 * DDL), and a row policy shows it only the rows of the tenant the query API names in the custom
 * setting `SQL_procstream_tenant` for each query. A query without that setting fails (getSetting of an
 * unset custom setting is an error): it fails closed.
 *
 * Run by migrate() on every start when a user is configured (idempotent: CREATE … IF NOT EXISTS, OR
 * REPLACE), never in embedded mode: chdb has no access control (its default user may not create users
 * or policies). Written from ClickHouse's documentation; this machine has no server to run it on.
 */
export interface TenantSqlUser {
  name: string
  password: string
}

/** The custom setting each tenant query carries; `SQL_` is ClickHouse's default custom prefix. */
export const TENANT_SETTING = 'SQL_procstream_tenant'

const TIER = [
  'tenant',
  'series_id',
  'bucket',
  'value_min',
  'value_max',
  'value_sum',
  'value_count',
  'value_last',
]

/**
 * The stored tables a tenant's SQL reads (query-api/src/sql/scope.ts) and the columns it needs of
 * each: the series-id layout (migration 5) and the sample log. Every one has a tenant column, which
 * the row policy filters on. The tables of migrations 1 and 2 are not granted: tenant SQL no longer
 * reads them, and migration 6 drops them.
 */
export const TENANT_SQL_GRANTS: Readonly<Record<string, readonly string[]>> = {
  [SERIES_TABLE]: ['tenant', 'metric', 'host', 'labels', 'series_id'],
  [POINTS_TABLE]: ['tenant', 'series_id', 'ts', 'value'],
  ...Object.fromEntries(POINTS_TIERS.map(({ table }) => [table, TIER])),
  sample_log: ['tenant', 'host', 'hostname', 'agent_id', 'seq', 'family', 'ts', 'points'],
}

/**
 * Held whole by every node in the cluster profile (ddl.ts, `everywhereKeyed`): no `<name>_local`
 * table, and a shard answers `series_id IN (SELECT … FROM series …)` from its own copy.
 */
const ON_EVERY_NODE: ReadonlySet<string> = new Set([SERIES_TABLE])

/** Tables the user's policies were once created on; the policies are dropped with them. */
const RETIRED = ['metrics_raw', ...ROLLUP_TIERS.map((t) => t.table)]

const POLICIES = ['procstream_tenant_sql', 'procstream_service_rows']

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

export function tenantSqlAccessStatements(o: DdlOptions, user: TenantSqlUser): string[] {
  if (!NAME.test(user.name))
    throw new Error(`CLICKHOUSE_SQL_USER ${JSON.stringify(user.name)} is not a plain name`)
  if (user.password.length < 16) throw new Error('CLICKHOUSE_SQL_PASSWORD must be at least 16 characters')
  const db = o.database
  const { on, stored } = layout(o)
  // In the cluster profile rows live in <name>_local; the Distributed <name> is read first, then each
  // shard's local table as the same user (the nodes' shared secret passes the initiating user on).
  const grants = Object.entries(TENANT_SQL_GRANTS).flatMap(([table, columns]) =>
    [...new Set([table, ON_EVERY_NODE.has(table) ? table : stored(table)])].map((name) => ({
      name,
      columns,
    })),
  )
  const tables = grants.map((g) => g.name)
  const retired = [...new Set(RETIRED.flatMap((t) => [t, stored(t)]))]
  const u = user.name
  return [
    `CREATE USER IF NOT EXISTS ${u}${on} IDENTIFIED WITH sha256_password BY ${clickHouseString(user.password)}`,
    // readonly = 2: the query API passes the tenant as a setting of each query; the user cannot write.
    `ALTER USER ${u}${on} IDENTIFIED WITH sha256_password BY ${clickHouseString(user.password)} SETTINGS readonly = 2`,
    `REVOKE${on} ALL ON *.* FROM ${u}`,
    ...grants.map((g) => `GRANT${on} SELECT(${g.columns.join(', ')}) ON ${db}.${g.name} TO ${u}`),
    // The policies of earlier starts on the tables of migrations 1 and 2, which tenant SQL no longer
    // reads (a dropped table's policies would otherwise outlive it). One statement per policy (the
    // grammar takes several names or several tables, not both), the tenant's first: no table is
    // left with it alone, which would hide the table's rows from every other user.
    ...POLICIES.map(
      (p) => `DROP ROW POLICY IF EXISTS ${p}${on} ON ${retired.map((t) => `${db}.${t}`).join(', ')}`,
    ),
    `CREATE ROW POLICY OR REPLACE procstream_tenant_sql${on} ON ${tables.map((t) => `${db}.${t}`).join(', ')} FOR SELECT USING tenant = getSetting('${TENANT_SETTING}') TO ${u}`,
    // Every other user (the processors, the dashboards' queries) keeps every row, whatever the
    // server's users_without_row_policies_can_read_rows says.
    `CREATE ROW POLICY OR REPLACE procstream_service_rows${on} ON ${tables.map((t) => `${db}.${t}`).join(', ')} FOR SELECT USING 1 TO ALL EXCEPT ${u}`,
  ]
}
