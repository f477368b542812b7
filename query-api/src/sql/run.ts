import type { ClickHouseClient } from '@clickhouse/client'
import { scopedWith } from './scope.ts'
import { checkQueryTree, checkUserAst, SqlRejected } from './validate.ts'

export interface SqlLimits {
  /** Longest query text accepted, in characters. */
  maxQueryChars: number
  /** Rows returned at most; more are cut and the answer says so. */
  maxRows: number
  maxExecutionSeconds: number
  maxMemoryBytes: number
}

export interface SqlAnswer {
  columns: { name: string; type: string }[]
  rows: unknown[][]
  truncated: boolean
}

/** ClickHouse's message without its stack trace and version footer: what the user got wrong. */
function clickhouseMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text
    .replace(/\s*\(version [^)]*\)\s*$/, '')
    .replace(/^Error:\s*/, '')
    .slice(0, 2000)
}

/** Whether ClickHouse refused the query itself (syntax, unknown column…), not a failure to answer. */
function isQueryError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  const type = (err as { type?: unknown }).type
  return typeof code === 'string' || typeof type === 'string' || /Code: \d+/.test(String(err))
}

async function text(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown>,
): Promise<string> {
  const rs = await client.query({ query, query_params: params, format: 'TabSeparatedRaw' })
  return rs.text()
}

/**
 * Runs a tenant's SELECT over its own data only (validate.ts says how that is ensured), with limits
 * on rows, time and memory set in the query's own SETTINGS clause: a per-query clause, unlike
 * session settings, which in embedded chdb would outlive the query and reach the processor's inserts.
 */
export async function runTenantSql(
  client: ClickHouseClient,
  database: string,
  tenant: string,
  sql: string,
  limits: SqlLimits,
): Promise<SqlAnswer> {
  if (sql.length > limits.maxQueryChars)
    throw new SqlRejected(
      `the query is ${sql.length} characters; at most ${limits.maxQueryChars} are accepted`,
    )
  // One trailing semicolon is habit, not a second statement.
  const user = sql.replace(/;\s*$/, '').trim()
  if (user === '') throw new SqlRejected('the query is empty')
  try {
    checkUserAst(await text(client, `EXPLAIN AST ${user}`, {}), 'TabSeparatedRaw')
  } catch (err) {
    if (err instanceof SqlRejected) throw err
    throw new SqlRejected(clickhouseMessage(err), { cause: err })
  }
  const scoped = `${scopedWith(database)}
SELECT * FROM (
${user}
) LIMIT ${limits.maxRows + 1}
SETTINGS max_execution_time = ${limits.maxExecutionSeconds}, max_memory_usage = ${limits.maxMemoryBytes}, readonly = 1`
  const params = { __tenant: tenant }
  try {
    checkQueryTree(await text(client, `EXPLAIN QUERY TREE ${scoped}`, params), database)
  } catch (err) {
    if (err instanceof SqlRejected) throw err
    throw new SqlRejected(clickhouseMessage(err), { cause: err })
  }
  let answer: { meta: { name: string; type: string }[]; data: unknown[][] }
  try {
    const rs = await client.query({ query: scoped, query_params: params, format: 'JSONCompact' })
    const json = await rs.json<unknown[]>()
    answer = { meta: json.meta ?? [], data: json.data }
  } catch (err) {
    if (isQueryError(err)) throw new SqlRejected(clickhouseMessage(err), { cause: err })
    throw err
  }
  const truncated = answer.data.length > limits.maxRows
  return {
    columns: answer.meta.map((m) => ({ name: m.name, type: m.type })),
    rows: truncated ? answer.data.slice(0, limits.maxRows) : answer.data,
    truncated,
  }
}
