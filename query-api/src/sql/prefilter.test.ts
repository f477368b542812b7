import { describe, expect, it } from 'vitest'
import { parseSelect } from './parser.ts'
import { renderTenantQuery } from './render.ts'

const render = (sql: string): string => renderTenantQuery(parseSelect(sql), 'db')

/** What a rendered query applies to the tenant's series and to the rows read, before the join. */
function copied(sql: string): { names: string[]; rows: string[] } {
  const out = render(sql)
  const after = (marker: string): string[] =>
    [...out.matchAll(new RegExp(`\\) AS ${marker} WHERE (.*?)\\) AS __ps_\\w+`, 'g'))].map((m) => m[1] ?? '')
  return { names: [...new Set(after('__ps_kept'))], rows: [...new Set(after('__ps_rows'))] }
}

describe('conditions of the WHERE copied into a scoped table’s body', () => {
  it('puts names on the series and time on the rows read, and keeps the WHERE as written', () => {
    const sql =
      "SELECT host, avg(value) FROM metrics WHERE metric = 'node_load1' AND ts > now() - INTERVAL 1 HOUR GROUP BY host"
    expect(copied(sql)).toEqual({
      names: ["(`metric` = 'node_load1')"],
      rows: ['(`ts` > (now() - toIntervalHour(1)))'],
    })
    expect(render(sql)).toMatch(
      /\) AS `metrics` WHERE \(\(`metric` = 'node_load1'\) AND \(`ts` > \(now\(\) - toIntervalHour\(1\)\)\)\) GROUP BY `host`$/,
    )
  })

  it('copies comparisons, IN lists, LIKE, NULL tests, prefixes and label lookups, combined freely', () => {
    const sql =
      "SELECT * FROM metrics AS m WHERE (m.host = 'a' OR host LIKE 'web-%') AND NOT metric IN ('x', 'y') " +
      "AND JSONExtractString(labels, 'device') = 'sda' AND startsWith(lower(host), 'web') AND labels IS NOT NULL " +
      "AND value BETWEEN 1 AND 2 AND ts >= toDateTime64('2026-01-01 00:00:00', 6, 'UTC')"
    expect(copied(sql)).toEqual({
      names: [
        "((`host` = 'a') OR (`host` LIKE 'web-%')) AND (NOT (`metric` IN ('x', 'y'))) AND " +
          "(JSONExtractString(`labels`, 'device') = 'sda') AND startsWith(lower(`host`), 'web') AND (`labels` IS NOT NULL)",
      ],
      rows: ["(`value` >= 1) AND (`value` <= 2) AND (`ts` >= toDateTime64('2026-01-01 00:00:00', 6, 'UTC'))"],
    })
  })

  it('copies only the bucket of a rollup: its other columns exist after the merge', () => {
    expect(
      copied("SELECT * FROM rollup_1m WHERE host = 'a' AND bucket > '2026-01-01 00:00:00' AND max > 1"),
    ).toEqual({ names: ["(`host` = 'a')"], rows: ["(`bucket` > '2026-01-01 00:00:00')"] })
  })

  it('copies nothing that could mean something else, fail on a row, or vary', () => {
    for (const sql of [
      // names and rows in one term: neither place holds both
      "SELECT * FROM metrics WHERE metric = 'a' OR value > 1",
      // a column against a column, a function that can fail, a random one, a subquery
      'SELECT * FROM metrics WHERE host = metric',
      'SELECT * FROM metrics WHERE toUInt8(host) = 1',
      'SELECT * FROM metrics WHERE value > rand()',
      'SELECT * FROM metrics WHERE host IN (SELECT host FROM samples)',
      // a name the query defines
      'SELECT value AS ts FROM metrics WHERE ts > 1',
      "SELECT host AS metric FROM metrics WHERE metric = 'a'",
      // more than one table, a CTE, or the merged columns of a rollup
      "SELECT 1 FROM metrics AS a JOIN samples AS b ON a.host = b.host WHERE a.host = 'x'",
      "WITH m AS (SELECT * FROM metrics) SELECT * FROM m WHERE host = 'x'",
      'SELECT * FROM rollup_10s WHERE max > 1 AND last < count',
      // an OR with a term that is not copied
      "SELECT * FROM metrics WHERE host = 'x' OR toUInt8(host) = 1",
    ]) {
      const out = copied(sql)
      expect(out.names.concat(out.rows), sql).toEqual([])
    }
  })

  it('copies within each SELECT of a query on its own', () => {
    const out = render(
      "SELECT host FROM metrics WHERE host = 'a' UNION ALL SELECT host FROM samples WHERE host = 'b' UNION ALL SELECT host FROM rollup_1h WHERE host = 'c'",
    )
    expect(out.match(/AS __ps_kept WHERE \(`host` = '(\w)'\)/g)).toEqual([
      "AS __ps_kept WHERE (`host` = 'a')",
      "AS __ps_kept WHERE (`host` = 'a')",
      "AS __ps_kept WHERE (`host` = 'c')",
      "AS __ps_kept WHERE (`host` = 'c')",
    ])
  })
})
