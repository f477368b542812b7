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
 * the tenant's host names into a list of host ids.
 */
export interface SelectorWhere {
  /** false when no stored series can match (e.g. `job="other"`): nothing needs to be read. */
  possible: boolean
  sql: string
  params: Record<string, unknown>
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
      if (hosts.length === 0) possible = false
      params[`${prefix}h${i}`] = hosts
      clauses.push(`host IN {${prefix}h${i}:Array(String)}`)
      return
    }
    let column: string
    if (m.name === NAME) column = 'metric'
    else if (m.name === 'host') column = 'host'
    else {
      params[`${prefix}n${i}`] = m.name
      column = `JSONExtractString(labels, {${prefix}n${i}:String})`
    }
    const v = `{${prefix}v${i}:String}`
    switch (m.op) {
      case '=':
        params[`${prefix}v${i}`] = m.value
        clauses.push(`${column} = ${v}`)
        break
      case '!=':
        params[`${prefix}v${i}`] = m.value
        clauses.push(`${column} != ${v}`)
        break
      case '=~':
      case '!~':
        jsMatcher(m) // the same syntax error message as everywhere, before ClickHouse sees it
        params[`${prefix}v${i}`] = anchored(m.value)
        clauses.push(`${m.op === '!~' ? 'NOT ' : ''}match(${column}, ${v})`)
        break
    }
  })
  return { possible, sql: clauses.join(' AND '), params }
}
