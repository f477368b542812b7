import type { Expr, FrameBound, OrderItem, Query, Select, SelectTerm, TableExpr, Window } from './ast.ts'
import { clickHouseString } from '#platform/clickhouse-literal.ts'
import { SqlRejected } from './errors.ts'
import { allowedFunction } from './functions.ts'
import { prefilters } from './prefilter.ts'
import { SCOPED_TABLES, scopedNames, type BodyFilters, type ScopedTable } from './scope.ts'

/**
 * Turns a parsed tenant query back into SQL, checking as it goes; the engine runs only this output.
 *
 * - Every table name is a scoped table (rendered as its tenant-filtered body) or a CTE of the query
 *   itself; there is no syntax for another database, a table function or a stored table.
 * - Every function is on the allow-list (functions.ts) and sent under its listed spelling.
 * - Every column name is a column of a scoped table or a name the query defines (alias, CTE, lambda
 *   parameter); a qualifier must be a table of the query. Nothing can name a table in expression
 *   position: IN takes a list, subquery or array only.
 * - Identifiers are always back-quoted and strings re-escaped, so no text of the user's reaches the
 *   engine except as a quoted identifier or a string literal.
 * - Simple conditions of a WHERE over one scoped table are also rendered into that table's body
 *   (prefilter.ts), so the body reads only the series and the range asked for.
 */
export function renderTenantQuery(q: Query, database: string): string {
  const r = new Renderer(database, definedNames(q))
  return r.query(q, [])
}

const SCOPED = new Map(SCOPED_TABLES.map((t) => [t.name, t]))
const SCOPED_COLUMNS = new Set(SCOPED_TABLES.flatMap((t) => t.columns))

export function quoteIdent(name: string): string {
  if (name === '' || name.length > 256) throw new SqlRejected('a name must be 1 to 256 characters')
  if (name.startsWith('__'))
    throw new SqlRejected(`names starting with __ are reserved (${name.slice(0, 40)})`)
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``
}

/** Every name the query itself defines: aliases, CTE names and lambda parameters. */
function definedNames(q: Query): Set<string> {
  const names = new Set<string>()
  // BETWEEN shares its operand between two comparisons: each node is walked once, however shared.
  const seen = new Set<unknown>()
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return
    seen.add(node)
    const n = node as Record<string, unknown>
    if (typeof n.alias === 'string') names.add(n.alias)
    // A CTE (`WITH x AS (…)`, `WITH … AS x`); other nodes with a name are calls, whose names are not columns.
    if ((n.k === 'table' || n.k === 'expr') && typeof n.name === 'string') names.add(n.name)
    if (n.k === 'lambda' && Array.isArray(n.params)) for (const p of n.params as string[]) names.add(p)
    for (const v of Object.values(n)) if (typeof v === 'object') walk(v)
  }
  walk(q)
  return names
}

interface Scope {
  /** CTE names visible here, innermost last. */
  ctes: string[]
  /** Table aliases (or bare names) of the FROM clauses enclosing this expression. */
  tables: string[]
}

class Renderer {
  constructor(
    private readonly database: string,
    private readonly names: Set<string>,
  ) {}

  query(q: Query, ctes: string[]): string {
    const visible = [...ctes]
    const parts: string[] = []
    for (const cte of q.ctes) {
      if (SCOPED.has(cte.name)) throw new SqlRejected(`WITH may not redefine the table ${cte.name}`)
      if (cte.k === 'table') {
        parts.push(`${quoteIdent(cte.name)} AS (${this.query(cte.q, visible)})`)
        visible.push(cte.name)
      } else parts.push(`${this.expr(cte.e, { ctes: visible, tables: [] })} AS ${quoteIdent(cte.name)}`)
    }
    let sql = parts.length > 0 ? `WITH ${parts.join(', ')} ` : ''
    sql += this.term(q.first, visible)
    for (const { op, term } of q.rest) sql += ` ${op} ${this.term(term, visible)}`
    return sql
  }

  private term(t: SelectTerm, ctes: string[]): string {
    return t.k === 'paren' ? `(${this.query(t.q, ctes)})` : this.select(t.s, ctes, [])
  }

  private select(s: Select, ctes: string[], outer: string[]): string {
    const tables = [
      ...outer,
      ...s.from.map((f) => f.table.alias ?? (f.table.source.k === 'name' ? f.table.source.name : '')),
    ].filter((n) => n !== '')
    const scope: Scope = { ctes, tables }
    let sql = `SELECT ${s.distinct ? 'DISTINCT ' : ''}`
    sql += s.items
      .map((item) => {
        if (item.k === 'star') {
          if (item.table === undefined) return '*'
          if (!tables.includes(item.table))
            throw new SqlRejected(`${item.table}.* names no table of the query`)
          return `${quoteIdent(item.table)}.*`
        }
        const e = this.expr(item.e, scope)
        return item.alias === undefined ? e : `${e} AS ${quoteIdent(item.alias)}`
      })
      .join(', ')
    if (s.from.length > 0) {
      const filters = s.from.length === 1 ? this.filters(s, ctes) : undefined
      sql += ' FROM '
      s.from.forEach((f, i) => {
        const table = this.table(f.table, ctes, filters)
        if (i === 0 || f.join === undefined) {
          sql += table
          return
        }
        const j = f.join
        if (j.kind === 'CROSS') {
          sql += ` CROSS JOIN ${table}`
          return
        }
        sql += ` ${j.strictness ? `${j.strictness} ` : ''}${j.kind} JOIN ${table}`
        if (j.on) sql += ` ON ${this.expr(j.on, scope)}`
        else if (j.using) sql += ` USING (${j.using.map((c) => this.column([c], scope)).join(', ')})`
      })
    }
    if (s.where) sql += ` WHERE ${this.expr(s.where, scope)}`
    if (s.groupBy)
      sql += s.groupBy.all
        ? ' GROUP BY ALL'
        : ` GROUP BY ${s.groupBy.exprs.map((e) => this.expr(e, scope)).join(', ')}`
    if (s.having) sql += ` HAVING ${this.expr(s.having, scope)}`
    if (s.orderBy.length > 0) sql += ` ORDER BY ${this.order(s.orderBy, scope)}`
    if (s.limit) sql += ` LIMIT ${s.limit.count.toString()} OFFSET ${s.limit.offset.toString()}`
    return sql
  }

  private table(t: TableExpr, ctes: string[], filters?: BodyFilters): string {
    let sql: string
    const alias = t.alias ?? (t.source.k === 'name' ? t.source.name : undefined)
    if (t.source.k === 'subquery') sql = `(${this.query(t.source.q, ctes)})`
    else if (ctes.includes(t.source.name)) sql = quoteIdent(t.source.name)
    else {
      const scoped: ScopedTable | undefined = SCOPED.get(t.source.name)
      if (!scoped) throw new SqlRejected(`table ${t.source.name} is not readable; read ${scopedNames()}`)
      sql = `(${scoped.body(this.database, filters)})`
    }
    return alias === undefined ? sql : `${sql} AS ${quoteIdent(alias)}`
  }

  /**
   * The conditions of `s`'s WHERE to render into the body of its one FROM table too (prefilter.ts),
   * checked and rendered as any other expression of the query; none for a CTE or a subquery.
   */
  private filters(s: Select, ctes: string[]): BodyFilters | undefined {
    const t = s.from[0]?.table
    if (t === undefined || t.source.k !== 'name' || ctes.includes(t.source.name)) return undefined
    const columns = SCOPED.get(t.source.name)?.prefilter
    if (columns === undefined) return undefined
    const found = prefilters(s.where, t.alias ?? t.source.name, columns, this.names)
    const render = (terms: Expr[]): string | undefined =>
      terms.length === 0 ? undefined : terms.map((e) => this.expr(e, { ctes, tables: [] })).join(' AND ')
    return { names: render(found.names), rows: render(found.rows) }
  }

  private order(items: OrderItem[], scope: Scope): string {
    return items
      .map((o) => {
        let sql = `${this.expr(o.e, scope)} ${o.desc ? 'DESC' : 'ASC'}`
        if (o.nulls) sql += ` NULLS ${o.nulls}`
        if (o.collate !== undefined) sql += ` COLLATE ${clickHouseString(o.collate)}`
        return sql
      })
      .join(', ')
  }

  private column(parts: string[], scope: Scope): string {
    if (parts.length > 2)
      throw new SqlRejected(`${parts.join('.')}: a column is named column or table.column`)
    const name = parts.at(-1) as string
    if (parts.length === 2 && !scope.tables.includes(parts[0] as string))
      throw new SqlRejected(`${parts.join('.')}: ${parts[0] ?? ''} is no table of the query`)
    if (!SCOPED_COLUMNS.has(name) && !this.names.has(name))
      throw new SqlRejected(
        `unknown column ${name}; the tables and their columns are listed by GET /api/v1/sql/tables`,
      )
    return parts.map(quoteIdent).join('.')
  }

  private expr(e: Expr, scope: Scope): string {
    switch (e.k) {
      case 'num':
        return e.v
      case 'str':
        return clickHouseString(e.v)
      case 'null':
        return 'NULL'
      case 'bool':
        return e.v ? 'true' : 'false'
      case 'col':
        return this.column(e.parts, scope)
      case 'bin':
        return `(${this.expr(e.l, scope)} ${e.op} ${this.expr(e.r, scope)})`
      case 'neg':
        return `(-${this.expr(e.e, scope)})`
      case 'not':
        return `(NOT ${this.expr(e.e, scope)})`
      case 'isNull':
        return `(${this.expr(e.e, scope)} IS ${e.not ? 'NOT ' : ''}NULL)`
      case 'in': {
        const l = this.expr(e.e, scope)
        const op = e.not ? 'NOT IN' : 'IN'
        if (e.r.k === 'query') return `(${l} ${op} (${this.query(e.r.q, scope.ctes)}))`
        if (e.r.k === 'list') return `(${l} ${op} (${e.r.items.map((i) => this.expr(i, scope)).join(', ')}))`
        if (e.r.e.k !== 'array')
          throw new SqlRejected('IN takes a list in parentheses, a subquery or an array')
        return `(${l} ${op} ${this.expr(e.r.e, scope)})`
      }
      case 'lambda':
        return `((${e.params.map(quoteIdent).join(', ')}) -> ${this.expr(e.body, scope)})`
      case 'array':
        return `[${e.items.map((i) => this.expr(i, scope)).join(', ')}]`
      case 'tuple':
        return e.items.length === 1
          ? `tuple(${this.expr(e.items[0] as Expr, scope)})`
          : `(${e.items.map((i) => this.expr(i, scope)).join(', ')})`
      case 'index':
        return `${this.expr(e.e, scope)}[${this.expr(e.i, scope)}]`
      case 'element':
        return `tupleElement(${this.expr(e.e, scope)}, ${e.n})`
      case 'subquery':
        return `(${this.query(e.q, scope.ctes)})`
      case 'fn':
        return this.call(e, scope)
    }
  }

  private call(e: Extract<Expr, { k: 'fn' }>, scope: Scope): string {
    const fn = allowedFunction(e.name)
    if (!fn) throw new SqlRejected(`function ${e.name} is not allowed in tenant SQL`)
    if (fn.name === 'exists' && !(e.args.length === 1 && e.args[0]?.k === 'subquery'))
      throw new SqlRejected('EXISTS takes one subquery')
    if (fn.name === 'CAST' && !(e.args.length === 2 && e.args[1]?.k === 'str'))
      throw new SqlRejected("CAST takes a type name: CAST(x AS Type) or CAST(x, 'Type')")
    if ((e.distinct || e.star || e.params !== undefined || e.over !== undefined) && !fn.aggregate)
      throw new SqlRejected(`${fn.name} is not an aggregate: DISTINCT, (*), parameters and OVER do not apply`)
    const params =
      e.params === undefined ? '' : `(${e.params.map((p) => this.literal(p, fn.name)).join(', ')})`
    const args = e.star
      ? '*'
      : `${e.distinct ? 'DISTINCT ' : ''}${e.args.map((a) => this.expr(a, scope)).join(', ')}`
    let sql = `${fn.name}${params}(${args})`
    if (e.over) sql += ` OVER (${this.window(e.over, scope)})`
    return sql
  }

  /** An aggregate's parameters are constants: a number or a string. */
  private literal(e: Expr, fn: string): string {
    if (e.k === 'num') return e.v
    if (e.k === 'str') return clickHouseString(e.v)
    if (e.k === 'neg' && e.e.k === 'num') return `-${e.e.v}`
    throw new SqlRejected(`the parameters of ${fn}(…)(…) must be numbers or strings`)
  }

  private window(w: Window, scope: Scope): string {
    const parts: string[] = []
    if (w.partitionBy.length > 0)
      parts.push(`PARTITION BY ${w.partitionBy.map((e) => this.expr(e, scope)).join(', ')}`)
    if (w.orderBy.length > 0) parts.push(`ORDER BY ${this.order(w.orderBy, scope)}`)
    if (w.frame) parts.push(`${w.frame.unit} BETWEEN ${bound(w.frame.start)} AND ${bound(w.frame.end)}`)
    return parts.join(' ')
  }
}

function bound(b: FrameBound): string {
  if (b.k === 'current') return 'CURRENT ROW'
  if (b.k === 'unbounded') return `UNBOUNDED ${b.dir}`
  return `${b.n.toString()} ${b.dir}`
}
