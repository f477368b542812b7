import { SCOPED_TABLES } from './scope.ts'

/**
 * The checks a tenant's SQL must pass before it runs, made on ClickHouse's own reading of it (its
 * parser's AST and its analyzer's query tree), never on the text: comments, quoting, unicode and
 * aliases cannot hide anything from the engine that will run the query.
 *
 * 1. The user's text alone parses as exactly one SELECT (UNION of SELECTs allowed), with no WITH …
 *    AS (subquery) of its own (it could shadow a scoped table's name), no SETTINGS, FORMAT or
 *    INTO OUTFILE. A text that parses alone cannot escape the parentheses it is then put in.
 * 2. The full query, scoped tables in front, is analysed: every table it reads must sit inside one
 *    of the scoped tables' bodies, no table function may appear, and no function that reads outside
 *    the query's tables (dictionaries, Join tables, files) may be called.
 */
export class SqlRejected extends Error {
  override readonly name = 'SqlRejected'
}

/** Functions that reach data the query tree does not show as tables, or that only stall a server. */
const DENIED_FUNCTIONS = /^(dict\w*|joinGet\w*|file|getSetting\w*|sleep|sleepEachRow)$/i

interface Line {
  depth: number
  text: string
}

function lines(dump: string, quoted: boolean): Line[] {
  return dump
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((raw) => {
      const l = quoted && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw
      const text = l.trimStart()
      return { depth: l.length - text.length, text }
    })
}

/**
 * Check 1, on `EXPLAIN AST <user text>` as run with `FORMAT <format>` appended (clickhouse-js always
 * appends the format it reads the answer in, and it shows in the AST).
 */
export function checkUserAst(astDump: string, format: string): void {
  const ls = lines(astDump, true)
  const root = ls[0]
  if (!root || !root.text.startsWith('SelectWithUnionQuery'))
    throw new SqlRejected('only SELECT queries are allowed')
  for (const l of ls) {
    if (l.text.startsWith('WithElement'))
      throw new SqlRejected('WITH name AS (subquery) is not allowed; write the subquery in place')
    if (l.text === 'Set' || l.text.startsWith('Set '))
      throw new SqlRejected('SETTINGS are not allowed; limits are set by the server')
  }
  // The root's direct children: the list of SELECTs, and FORMAT or INTO OUTFILE if written.
  const children = ls.filter((l) => l.depth === (ls[1]?.depth ?? 1)).map((l) => l.text)
  const [list, ...rest] = children
  if (!list?.startsWith('ExpressionList') || rest.length !== 1 || rest[0] !== `Identifier ${format}`)
    throw new SqlRejected('FORMAT and INTO OUTFILE are not allowed; the answer is JSON')
}

/** Check 2, on `EXPLAIN QUERY TREE <scoped query>`. */
export function checkQueryTree(treeDump: string, database: string): void {
  const ls = lines(treeDump, false)
  const stack: Line[] = []
  for (const l of ls) {
    while (stack.length > 0 && (stack.at(-1) as Line).depth >= l.depth) stack.pop()
    if (l.text.startsWith('TABLE_FUNCTION')) {
      const name = /table_function_name: (\w+)/.exec(l.text)?.[1] ?? 'a table function'
      throw new SqlRejected(`table function ${name} is not allowed; read ${scopedNames()}`)
    }
    if (l.text.startsWith('FUNCTION ')) {
      const name = /function_name: (\w+)/.exec(l.text)?.[1] ?? ''
      if (DENIED_FUNCTIONS.test(name)) throw new SqlRejected(`function ${name} is not allowed`)
    }
    if (l.text.startsWith('TABLE ')) {
      const table = /table_name: ([^,\s]+)/.exec(l.text)?.[1] ?? '?'
      // The nearest enclosing query must be the scoped table whose body reads exactly this table.
      const owner = [...stack].reverse().find((s) => s.text.startsWith('QUERY '))
      const cte = owner && /is_cte: 1, cte_name: (\w+)/.exec(owner.text)?.[1]
      const scoped = SCOPED_TABLES.find((t) => t.name === cte)
      if (!scoped || table !== `${database}.${scoped.source}`)
        throw new SqlRejected(`table ${table} is not readable; read ${scopedNames()}`)
    }
    stack.push(l)
  }
}

function scopedNames(): string {
  return SCOPED_TABLES.map((t) => t.name).join(', ')
}
