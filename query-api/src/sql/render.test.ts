import { describe, expect, it } from 'vitest'
import { SqlRejected } from './errors.ts'
import { parseSelect } from './parser.ts'
import { renderTenantQuery } from './render.ts'

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
    expect(out).toBe(
      'SELECT `host` AS `h`, count() FROM (SELECT __ps_src.metric AS metric, __ps_src.host AS host, ' +
        '__ps_src.labels AS labels, __ps_src.ts AS ts, __ps_src.value AS value FROM `db`.metrics_raw AS __ps_src ' +
        "WHERE __ps_src.tenant = {procstream_tenant:String}) AS `metrics` WHERE (`metric` = 'node_load1') GROUP BY `host`",
    )
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
