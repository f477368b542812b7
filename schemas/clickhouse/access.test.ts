import { describe, expect, it } from 'vitest'
import { TENANT_SQL_GRANTS, tenantSqlAccessStatements } from './access.ts'
import { migrations, type DdlOptions } from './ddl.ts'

const base: DdlOptions = {
  database: 'procstream',
  rawTtlDays: 7,
  tier10sTtlDays: 30,
  tier1mTtlDays: 365,
  tier1hTtlDays: 1825,
  dedupWindow: 100,
}
const cluster: DdlOptions = { ...base, profile: 'cluster', cluster: 'procstream' }
const user = { name: 'procstream_sql', password: 'x'.repeat(20) }

const granted = (sql: string[]): string[] =>
  sql.flatMap(
    (s) => /^GRANT(?: ON CLUSTER '[^']+')? SELECT\([^)]*\) ON procstream\.(\w+) TO /.exec(s)?.[1] ?? [],
  )
const policyTables = (sql: string[], policy: string): string[] =>
  (
    new RegExp(`^CREATE ROW POLICY OR REPLACE ${policy}(?: ON CLUSTER '[^']+')? ON (.*?) FOR SELECT`)
      .exec(sql.find((s) => s.includes(`OR REPLACE ${policy}`)) ?? '')?.[1]
      ?.split(', ') ?? []
  ).map((t) => t.replace(/^procstream\./, ''))

/** The tables the migrations create, with their columns: what a grant may name. */
function created(o: DdlOptions): Map<string, string[]> {
  const tables = new Map<string, string[]>()
  for (const s of migrations(o).flatMap((m) => m.statements)) {
    const m =
      /^CREATE TABLE IF NOT EXISTS procstream\.(\w+)(?: ON CLUSTER '[^']+')? (?:AS procstream\.(\w+)|\(([\s\S]*?)\n\) ENGINE)/.exec(
        s,
      )
    if (!m) continue
    const [, name = '', like, body] = m
    const columns =
      like === undefined
        ? [...(body ?? '').matchAll(/^\s+(\w+) /gm)].map((c) => c[1] ?? '')
        : tables.get(like)
    tables.set(name, columns ?? [])
  }
  return tables
}

describe('the tenant SQL user on a ClickHouse server', () => {
  it('may select the series-id tables and the sample log only, through a row policy on the tenant setting', () => {
    const sql = tenantSqlAccessStatements(base, { name: 'procstream_sql', password: "p'w\\0123456789abcdef" })
    expect(sql[0]).toBe(
      "CREATE USER IF NOT EXISTS procstream_sql IDENTIFIED WITH sha256_password BY 'p\\'w\\\\0123456789abcdef'",
    )
    expect(sql).toContain('REVOKE ALL ON *.* FROM procstream_sql')
    expect(granted(sql)).toEqual(['series', 'points', 'points_10s', 'points_1m', 'points_1h', 'sample_log'])
    expect(sql.some((s) => /GRANT .*(api_keys|tenants|metrics_|points_tier_feed|\*\.\*)/.test(s))).toBe(false)
    expect(sql).toContain(
      "CREATE ROW POLICY OR REPLACE procstream_tenant_sql ON procstream.series, procstream.points, procstream.points_10s, procstream.points_1m, procstream.points_1h, procstream.sample_log FOR SELECT USING tenant = getSetting('SQL_procstream_tenant') TO procstream_sql",
    )
    expect(policyTables(sql, 'procstream_service_rows')).toEqual(policyTables(sql, 'procstream_tenant_sql'))
  })

  it('grants only tables the migrations create, columns they have, and a tenant column on each', () => {
    for (const o of [base, cluster]) {
      const tables = created(o)
      const sql = tenantSqlAccessStatements(o, user)
      for (const s of sql.filter((x) => x.startsWith('GRANT'))) {
        const [, columns = '', table = ''] = /SELECT\(([^)]*)\) ON procstream\.(\w+) /.exec(s) ?? []
        expect(tables.has(table), `${table} (${o.profile ?? 'single'})`).toBe(true)
        expect(tables.get(table)).toEqual(expect.arrayContaining(columns.split(', ')))
        expect(columns.split(', ')).toContain('tenant')
      }
      expect(policyTables(sql, 'procstream_tenant_sql')).toEqual(granted(sql))
    }
  })

  it('covers the local tables of the cluster profile, on the cluster; series has none', () => {
    const sql = tenantSqlAccessStatements(cluster, user)
    expect(granted(sql)).toEqual([
      'series',
      'points',
      'points_local',
      'points_10s',
      'points_10s_local',
      'points_1m',
      'points_1m_local',
      'points_1h',
      'points_1h_local',
      'sample_log',
      'sample_log_local',
    ])
    expect(sql.every((s) => s.includes(" ON CLUSTER 'procstream'"))).toBe(true)
    expect(Object.keys(TENANT_SQL_GRANTS)).not.toContain('points_tier_feed')
  })

  it('drops its policies from the tables of migrations 1 and 2, the tenant policy first', () => {
    expect(tenantSqlAccessStatements(base, user).filter((s) => s.startsWith('DROP'))).toEqual([
      'DROP ROW POLICY IF EXISTS procstream_tenant_sql ON procstream.metrics_raw, procstream.metrics_10s, procstream.metrics_1m, procstream.metrics_1h',
      'DROP ROW POLICY IF EXISTS procstream_service_rows ON procstream.metrics_raw, procstream.metrics_10s, procstream.metrics_1m, procstream.metrics_1h',
    ])
    const drops = tenantSqlAccessStatements(cluster, user).filter((s) => s.startsWith('DROP'))
    expect(drops).toHaveLength(2)
    expect(drops[1]).toContain("procstream_service_rows ON CLUSTER 'procstream' ON procstream.metrics_raw, ")
    expect(drops[1]).toContain(
      'procstream.metrics_raw_local, procstream.metrics_10s, procstream.metrics_10s_local',
    )
  })

  it('refuses a user name that is not plain and a short password', () => {
    expect(() => tenantSqlAccessStatements(base, { name: 'a; DROP', password: 'x'.repeat(20) })).toThrow(
      /plain name/,
    )
    expect(() => tenantSqlAccessStatements(base, { name: 'u', password: 'short' })).toThrow(/16 characters/)
  })
})
