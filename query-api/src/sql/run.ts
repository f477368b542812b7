import type { ClickHouseClient } from '@clickhouse/client'
import { formatterHazard } from '#platform/clickhouse-format.ts'
import { SqlBusy, SqlRejected } from './errors.ts'
import { parseSelect } from './parser.ts'
import { renderTenantQuery } from './render.ts'
import { TENANT_SETTING } from '#schemas/clickhouse/access.ts'
import { TENANT_PARAM } from './scope.ts'

export interface SqlLimits {
  /** Longest query text accepted, in characters. */
  maxQueryChars: number
  /** Rows returned at most; more are cut and the answer says so. */
  maxRows: number
  maxExecutionSeconds: number
  maxMemoryBytes: number
  /** Bytes of result the engine may produce for one query; past it the query is refused. */
  maxResultBytes?: number
  /** Queries one tenant may run at once in this process; more get 429. */
  maxConcurrentPerTenant?: number
  /** Threads one query may use: tenant SQL never takes every core from ingestion. */
  maxThreads?: number
}

export interface SqlAnswer {
  columns: { name: string; type: string }[]
  rows: unknown[][]
  truncated: boolean
}

const DEFAULT_RESULT_BYTES = 64 * 1024 * 1024

/**
 * Settings of every tenant query, in its own SETTINGS clause (a per-statement clause: in embedded chdb
 * session settings would outlive the query). The optimizer must not move a user predicate into the
 * scoped tables' reads, where it would be evaluated on rows of every tenant before the tenant filter
 * (an error or timing oracle): filter push-down, predicate rewriting and PREWHERE moves are off, so
 * user expressions only ever see the rows the scoped subqueries return.
 */
function settings(l: SqlLimits): string {
  const s: Record<string, string | number> = {
    readonly: 1,
    max_execution_time: l.maxExecutionSeconds,
    timeout_overflow_mode: "'throw'",
    max_memory_usage: l.maxMemoryBytes,
    max_result_bytes: l.maxResultBytes ?? DEFAULT_RESULT_BYTES,
    result_overflow_mode: "'throw'",
    max_threads: l.maxThreads ?? 1,
    max_subquery_depth: 20,
    max_ast_elements: 100_000,
    max_expanded_ast_elements: 200_000,
    query_plan_filter_push_down: 0,
    enable_optimize_predicate_expression: 0,
    optimize_move_to_prewhere: 0,
    optimize_move_to_prewhere_if_final: 0,
    use_query_condition_cache: 0,
    allow_introspection_functions: 0,
    allow_ddl: 0,
  }
  return Object.entries(s)
    .map(([k, v]) => `${k} = ${String(v)}`)
    .join(', ')
}

/**
 * The engine's message about an admitted query, without its stack, version footer or the echo of the
 * rendered statement: what the tenant got wrong (a bad cast of its own value, a type mismatch…).
 * The query could see only the tenant's rows, so nothing else can be in it.
 */
function engineMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const m = /DB::Exception:\s*([\s\S]*)/.exec(text)
  let msg = (m?.[1] ?? text).split(/[.:]?\s*(?:In scope|In query|While processing)\b/i)[0] ?? ''
  msg = msg.replace(/\s*\(version [^)]*\)\s*$/, '').replace(/\s*\([A-Z_]+\)\s*$/, '')
  return `the query failed: ${msg.slice(0, 500)}`
}

function isQueryError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code
  const type = (err as { type?: unknown }).type
  return typeof code === 'string' || typeof type === 'string' || /Code: \d+/.test(String(err))
}

/**
 * Proves the text is one statement with the engine's own parser, receiving it as a bound value
 * (`formatQuerySingleLine({q:String})`): nothing of it runs. Its canonical single-line form is what the
 * project's parser then reads. A parse error names only the position in the caller's own text.
 */
async function canonical(client: ClickHouseClient, sql: string): Promise<string> {
  const hazard = formatterHazard(sql)
  if (hazard !== undefined) throw new SqlRejected(hazard)
  try {
    const rs = await client.query({
      query: 'SELECT formatQuerySingleLine({q:String}) AS q',
      query_params: { q: sql },
      format: 'JSONEachRow',
    })
    const [row] = await rs.json<{ q: string }>()
    if (row === undefined) throw new SqlRejected('the query could not be read')
    return row.q
  } catch (err) {
    if (err instanceof SqlRejected) throw err
    if (!isQueryError(err)) throw err
    const text = String(err)
    if (/Multi-statements are not allowed/.test(text))
      throw new SqlRejected('only one statement is accepted', { cause: err })
    const pos = /failed at position (\d+)/.exec(text)?.[1]
    throw new SqlRejected(
      `the query is not valid ClickHouse SQL${pos === undefined ? '' : ` (syntax error at position ${pos})`}`,
      { cause: err },
    )
  }
}

/** At most N queries per tenant at once; the rest are refused (429) rather than queued. */
export class TenantSlots {
  private readonly running = new Map<string, number>()

  constructor(private readonly perTenant: number) {}

  async run<T>(tenant: string, f: () => Promise<T>): Promise<T> {
    const n = this.running.get(tenant) ?? 0
    if (n >= this.perTenant)
      throw new SqlBusy(`this tenant already runs ${this.perTenant} SQL queries; try again when one ends`)
    this.running.set(tenant, n + 1)
    try {
      return await f()
    } finally {
      const left = (this.running.get(tenant) ?? 1) - 1
      if (left === 0) this.running.delete(tenant)
      else this.running.set(tenant, left)
    }
  }
}

/** The statement the engine runs for a tenant's text: rendered from the checked tree, never the text. */
export function tenantStatement(canonicalSql: string, database: string, limits: SqlLimits): string {
  const rendered = renderTenantQuery(parseSelect(canonicalSql), database)
  return `SELECT * FROM (${rendered}) LIMIT ${limits.maxRows + 1} SETTINGS ${settings(limits)}`
}

/**
 * Runs a tenant's SELECT over its own data only: proven one statement by the engine's parser (as
 * data), parsed again by the project's parser, checked and rendered (render.ts), then run with the
 * tenant as a bound parameter and the limits in its SETTINGS clause.
 */
export async function runTenantSql(
  client: ClickHouseClient,
  database: string,
  tenant: string,
  sql: string,
  limits: SqlLimits,
  /**
   * On a server as CLICKHOUSE_SQL_USER: the tenant also goes in the setting its row policy reads
   * (schemas/clickhouse/access.ts), so the engine enforces it under the rendering's own filter.
   */
  options: { tenantSetting?: boolean } = {},
): Promise<SqlAnswer> {
  if (sql.length > limits.maxQueryChars)
    throw new SqlRejected(
      `the query is ${sql.length} characters; at most ${limits.maxQueryChars} are accepted`,
    )
  if (sql.trim() === '') throw new SqlRejected('the query is empty')
  const statement = tenantStatement(await canonical(client, sql), database, limits)
  let answer: { meta: { name: string; type: string }[]; data: unknown[][] }
  try {
    const rs = await client.query({
      query: statement,
      query_params: { [TENANT_PARAM]: tenant },
      format: 'JSONCompact',
      ...(options.tenantSetting === true && { clickhouse_settings: { [TENANT_SETTING]: tenant } }),
    })
    // The engine's own result limit does not cover every path (chdb materialises the whole answer),
    // so the text is measured too before it is parsed and sent.
    const text = await rs.text()
    const maxBytes = limits.maxResultBytes ?? DEFAULT_RESULT_BYTES
    if (text.length > maxBytes)
      throw new SqlRejected(`the answer is over ${maxBytes} bytes; select fewer or narrower rows`)
    const json = JSON.parse(text) as { meta?: { name: string; type: string }[]; data: unknown[][] }
    answer = { meta: json.meta ?? [], data: json.data }
  } catch (err) {
    if (err instanceof SqlRejected) throw err
    if (isQueryError(err)) throw new SqlRejected(engineMessage(err), { cause: err })
    throw err
  }
  const truncated = answer.data.length > limits.maxRows
  return {
    columns: answer.meta.map((m) => ({ name: m.name, type: m.type })),
    rows: truncated ? answer.data.slice(0, limits.maxRows) : answer.data,
    truncated,
  }
}
