import type { LabelMatcher } from './ast.ts'
import { PromQLError } from './errors.ts'
import { JOB, NAME } from './labels.ts'
import { promRegExp } from './regex.ts'

/**
 * The WHERE clause of a vector selector, with every user-given value as a query parameter (never
 * spliced into SQL). The tenant clause is always first and is not optional: it is what keeps one
 * tenant's query away from every other tenant's rows.
 *
 * `job` and `instance` are not stored columns (labels.ts): `job` is matched here, `instance` through
 * the tenant's host names into a list of host ids, and on the host id itself for a host without a
 * known name (whose `instance` is its id).
 */
export interface SelectorWhere {
  /** false when no stored series can match (e.g. `job="other"`): nothing needs to be read. */
  possible: boolean
  /** A condition on the series table's columns (tenant, metric, host, labels). */
  sql: string
  params: Record<string, unknown>
  /** The parameter that holds the tenant, for the points' own tenant column. */
  tenantParam: string
}

/** The last day a ClickHouse Date holds. */
const LAST_DATE_MS = Date.UTC(2149, 5, 6)

/**
 * The UTC day of a time, as the series table's `day` (a Date parameter) takes it; a time outside
 * the Date type's range (1970 to 2149) is read as its nearest end, where no series has a day anyway.
 */
export function utcDay(ms: number): string {
  return new Date(Math.min(Math.max(ms, 0), LAST_DATE_MS)).toISOString().slice(0, 10)
}

/** Prometheus anchors regular expressions and lets `.` match newlines; so do RE2 and JS with `s`. */
export function anchored(re: string): string {
  return `^(?s:${re})$`
}

export function jsMatcher(m: LabelMatcher): (value: string) => boolean {
  switch (m.op) {
    case '=':
      return (v) => v === m.value
    case '!=':
      return (v) => v !== m.value
    case '=~':
    case '!~': {
      let re: RegExp
      try {
        re = promRegExp(m.value)
      } catch (err) {
        throw new PromQLError(
          'bad_data',
          `invalid regular expression ${JSON.stringify(m.value)}: ${String(err)}`,
        )
      }
      return m.op === '=~' ? (v) => re.test(v) : (v) => !re.test(v)
    }
  }
}

export function selectorWhere(
  matchers: readonly LabelMatcher[],
  tenant: string,
  hostnames: ReadonlyMap<string, string>,
  prefix: string,
): SelectorWhere {
  const params: Record<string, unknown> = { [`${prefix}tenant`]: tenant }
  const clauses = [`tenant = {${prefix}tenant:String}`]
  let possible = true
  matchers.forEach((m, i) => {
    if (m.name === 'job') {
      if (!jsMatcher(m)(JOB)) possible = false
      return
    }
    if (m.name === 'instance') {
      const test = jsMatcher(m)
      const hosts = [...hostnames].filter(([id, name]) => test(name || id)).map(([id]) => id)
      params[`${prefix}h${i}`] = hosts
      // A host missing from the map is named by its id: the matcher applies to the id itself.
      params[`${prefix}k${i}`] = [...hostnames.keys()]
      const unnamed = `host NOT IN {${prefix}k${i}:Array(String)} AND ${matchSql('host', m, `${prefix}v${i}`, params)}`
      clauses.push(`(host IN {${prefix}h${i}:Array(String)} OR (${unnamed}))`)
      return
    }
    let column: string
    if (m.name === NAME) column = 'metric'
    else if (m.name === 'host') column = 'host'
    else {
      params[`${prefix}n${i}`] = m.name
      column = `JSONExtractString(labels, {${prefix}n${i}:String})`
    }
    clauses.push(matchSql(column, m, `${prefix}v${i}`, params))
  })
  return { possible, sql: clauses.join(' AND '), params, tenantParam: `${prefix}tenant` }
}

/** `column` against the matcher's value, passed as the parameter `param`. */
function matchSql(column: string, m: LabelMatcher, param: string, params: Record<string, unknown>): string {
  const v = `{${param}:String}`
  switch (m.op) {
    case '=':
      params[param] = m.value
      return `${column} = ${v}`
    case '!=':
      params[param] = m.value
      return `${column} != ${v}`
    case '=~':
    case '!~':
      jsMatcher(m) // the same syntax error message as everywhere, before ClickHouse sees it
      params[param] = anchored(m.value)
      return `${m.op === '!~' ? 'NOT ' : ''}match(${column}, ${v})`
  }
}
