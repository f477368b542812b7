import { describe, expect, it } from 'vitest'
import { SqlRejected } from './errors.ts'
import { parseSelect } from './parser.ts'
import { renderTenantQuery } from './render.ts'
import { SCOPED_TABLES } from './scope.ts'
import { TENANT_SQL_GRANTS } from '#schemas/clickhouse/access.ts'

const render = (sql: string): string => renderTenantQuery(parseSelect(sql), 'db')
const refusal = (sql: string): string => {
  try {
    render(sql)
  } catch (err) {
    if (err instanceof SqlRejected) return err.message
    throw err
  }
  throw new Error(`accepted: ${sql}`)
}

describe('tenant SQL, parsed and rendered', () => {
  it('renders every scoped table as its tenant-filtered body and quotes every name', () => {
    const out = render("SELECT host AS h, count() FROM metrics WHERE (metric = 'node_load1') GROUP BY host")
    expect(out).toMatch(/^SELECT `host` AS `h`, count\(\) FROM \(SELECT __ps_names\.metric AS metric, /)
    expect(out).toMatch(/\) AS `metrics` WHERE \(`metric` = 'node_load1'\) GROUP BY `host`$/)
  })

  it('reads each stored table under a reserved alias, by the tenant, and points and tiers by its series too', () => {
    for (const t of SCOPED_TABLES) {
      const body = t.body('db')
      const reads = [...body.matchAll(/FROM `db`\.(\w+) AS (\w+)(.{0,160})/g)]
      // Every stored table the body names is one of these reads.
      expect(reads.length, t.name).toBe(body.split('`db`.').length - 1)
      expect(new Set(reads.map((r) => r[1])), t.name).toEqual(new Set(t.sources))
      for (const [, table = '', alias = '', rest = ''] of reads) {
        expect(alias, `${t.name}: ${table}`).toMatch(/^__ps_/)
        expect(rest, `${t.name}: ${table}`).toMatch(
          new RegExp(`^ WHERE ${alias}\\.tenant = \\{procstream_tenant:String\\}`),
        )
        if (table !== 'series' && table !== 'sample_log')
          expect(rest, `${t.name}: ${table}`).toMatch(
            new RegExp(` AND ${alias}\\.series_id IN \\(SELECT __ps_ids\\.series_id FROM \\(`),
          )
      }
      // No column of a body is named bare: a name the user's query defines cannot stand in for it.
      const bare = [
        ...body.matchAll(/(.{0,3})\b(tenant|series_id|metric|host|labels|ts|value|bucket|value_\w+)\b/g),
      ]
        .filter(([, before = '']) => !before.endsWith('.') && before !== 'AS ')
        .map((m) => m[0])
      expect(bare, t.name).toEqual([])
    }
  })

  it('reads of each body are columns the tenant SQL user is granted (schemas/clickhouse/access.ts)', () => {
    for (const t of SCOPED_TABLES) {
      const body = t.body('db', { names: "`host` = 'x'", rows: '1 = 1' })
      const tables = new Map([...body.matchAll(/FROM `db`\.(\w+) AS (\w+)/g)].map((m) => [m[2], m[1]]))
      for (const [, alias = '', column = ''] of body.matchAll(/\b(__ps_\w+)\.(\w+)/g)) {
        const table = tables.get(alias)
        if (table !== undefined)
          expect(TENANT_SQL_GRANTS[table], `${t.name}: ${table}.${column}`).toContain(column)
      }
    }
  })

  it('keeps strings and names as data: quotes, backslashes, newlines and backticks re-escaped', () => {
    expect(render("SELECT 'it\\'s \\\\ \\n' AS `a``b`")).toBe("SELECT 'it\\'s \\\\ \\x0a' AS `a\\`b`")
  })

  it('sends functions under their listed spelling, with combinators, parameters and windows', () => {
    expect(render('SELECT COUNT(*), SUMIF(value, value > 1), quantile(0.9)(value) FROM metrics')).toContain(
      'count(*), sumIf(`value`, (`value` > 1)), quantile(0.9)(`value`)',
    )
    expect(
      render('SELECT lagInFrame(value) OVER (PARTITION BY host ORDER BY ts ASC) FROM metrics'),
    ).toContain('OVER (PARTITION BY `host` ORDER BY `ts` ASC)')
  })

  it('refuses what is outside the subset, by name', () => {
    expect(refusal('SELECT * FROM db.metrics_raw')).toMatch(/bare names/)
    expect(refusal('SELECT * FROM metrics_raw')).toMatch(/table metrics_raw is not readable/)
    expect(refusal("SELECT * FROM file('x')")).toMatch(/table functions/)
    expect(refusal("SELECT file('x')")).toMatch(/function file is not allowed/)
    expect(refusal('SELECT * FROM metrics WHERE host IN api_keys')).toMatch(/IN takes a list/)
    expect(refusal('SELECT tenant FROM metrics')).toMatch(/unknown column tenant/)
    expect(refusal('SELECT x.host FROM metrics')).toMatch(/x is no table of the query/)
    expect(refusal('SELECT a.b.c FROM metrics AS a')).toMatch(/column or table.column/)
    expect(refusal('SELECT 1 SETTINGS readonly = 0')).toMatch(/SETTINGS is not accepted/)
    expect(refusal('SELECT 1 FORMAT CSV')).toMatch(/FORMAT is not accepted/)
    expect(refusal('SELECT {p:String}')).toMatch(/query parameters/)
    expect(refusal('WITH metrics AS (SELECT 1) SELECT * FROM metrics')).toMatch(/may not redefine/)
    expect(refusal('SELECT 1 AS __ps_src')).toMatch(/reserved/)
    expect(refusal('INSERT INTO t VALUES (1)')).toMatch(/expected SELECT/)
    expect(refusal(`SELECT ${'('.repeat(200)}1${')'.repeat(200)}`)).toMatch(/nests deeper/)
  })
})
