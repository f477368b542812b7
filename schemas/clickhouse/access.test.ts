import { describe, expect, it } from 'vitest'
import { tenantSqlAccessStatements } from './access.ts'

const base = {
  database: 'procstream',
  rawTtlDays: 7,
  tier10sTtlDays: 30,
  tier1mTtlDays: 365,
  tier1hTtlDays: 1825,
  dedupWindow: 100,
}

describe('the tenant SQL user on a ClickHouse server', () => {
  it('may select the scoped tables only, through a row policy on the tenant setting', () => {
    const sql = tenantSqlAccessStatements(base, { name: 'procstream_sql', password: "p'w\\0123456789abcdef" })
    expect(sql[0]).toBe(
      "CREATE USER IF NOT EXISTS procstream_sql IDENTIFIED WITH sha256_password BY 'p\\'w\\\\0123456789abcdef'",
    )
    expect(sql).toContain('REVOKE ALL ON *.* FROM procstream_sql')
    expect(sql.filter((s) => s.startsWith('GRANT'))).toHaveLength(5)
    expect(sql.some((s) => /GRANT .*api_keys|GRANT .*tenants|GRANT .*\*\.\*/.test(s))).toBe(false)
    expect(sql).toContain(
      "CREATE ROW POLICY OR REPLACE procstream_tenant_sql ON procstream.metrics_raw, procstream.sample_log, procstream.metrics_10s, procstream.metrics_1m, procstream.metrics_1h FOR SELECT USING tenant = getSetting('SQL_procstream_tenant') TO procstream_sql",
    )
  })

  it('covers the local tables of the cluster profile, on the cluster', () => {
    const sql = tenantSqlAccessStatements(
      { ...base, profile: 'cluster', cluster: 'procstream' },
      { name: 'procstream_sql', password: 'x'.repeat(20) },
    )
    expect(sql.filter((s) => s.startsWith('GRANT'))).toHaveLength(10)
    expect(sql.every((s) => s.includes(" ON CLUSTER 'procstream'"))).toBe(true)
    expect(sql.find((s) => s.includes('procstream_tenant_sql'))).toContain('procstream.metrics_raw_local')
  })

  it('refuses a user name that is not plain and a short password', () => {
    expect(() => tenantSqlAccessStatements(base, { name: 'a; DROP', password: 'x'.repeat(20) })).toThrow(
      /plain name/,
    )
    expect(() => tenantSqlAccessStatements(base, { name: 'u', password: 'short' })).toThrow(/16 characters/)
  })
})
