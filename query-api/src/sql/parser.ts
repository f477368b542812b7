import type {
  BinOp,
  Cte,
  Expr,
  FrameBound,
  FromItem,
  Join,
  OrderItem,
  Query,
  Select,
  SelectItem,
  SelectTerm,
  SetOp,
  TableExpr,
  Window,
} from './ast.ts'
import { clickHouseString } from '#platform/clickhouse-literal.ts'
import { SqlRejected } from './errors.ts'
import { tokenize, type Token } from './lexer.ts'
import { scopedNames } from './scope.ts'

/** Nesting deeper than this is refused: it bounds the parser's stack whatever the text. */
const MAX_DEPTH = 64

/**
 * A recursive-descent parser for the tenant SQL subset (ast.ts), run on the engine's canonical text.
 * It fails closed: whatever it does not know is refused with its position, never passed through.
 */
class Parser {
  private i = 0
  private depth = 0

  constructor(private readonly tokens: Token[]) {}

  private get tok(): Token {
    return this.tokens[this.i] as Token
  }

  private peek(k = 1): Token {
    return this.tokens[Math.min(this.i + k, this.tokens.length - 1)] as Token
  }

  private fail(what: string, at: Token = this.tok): never {
    const near = at.t === 'end' ? 'the end' : `${JSON.stringify(at.v.slice(0, 40))} (position ${at.pos})`
    throw new SqlRejected(`${what}, at ${near}`)
  }

  /** Whether the current token is the keyword (a bare word, any case). */
  private is(word: string, k = 0): boolean {
    const t = this.peek(k)
    return t.t === 'word' && t.v.toUpperCase() === word
  }

  private isOp(op: string, k = 0): boolean {
    const t = this.peek(k)
    return t.t === 'op' && t.v === op
  }

  private accept(word: string): boolean {
    if (!this.is(word)) return false
    this.i++
    return true
  }

  private acceptOp(op: string): boolean {
    if (!this.isOp(op)) return false
    this.i++
    return true
  }

  private expect(word: string): void {
    if (!this.accept(word)) this.fail(`expected ${word}`)
  }

  private expectOp(op: string): void {
    if (!this.acceptOp(op)) this.fail(`expected ${op}`)
  }

  private nest<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) this.fail(`the query nests deeper than ${MAX_DEPTH} levels`)
    try {
      return f()
    } finally {
      this.depth--
    }
  }

  /** Whether the token can be a name: quoted, or a bare word that starts no clause. */
  private atName(k = 0): boolean {
    const t = this.peek(k)
    return t.t === 'ident' || (t.t === 'word' && !RESERVED.has(t.v.toUpperCase()))
  }

  /** Whether a (sub)query starts here. */
  private atQuery(k = 0): boolean {
    return this.is('SELECT', k) || this.is('WITH', k)
  }

  private name(what: string): string {
    const t = this.tok
    if (!this.atName()) return this.fail(`expected ${what}`)
    this.i++
    return t.v
  }

  /** `AS name`, or a bare name right after the aliased thing, or nothing. */
  private alias(): string | undefined {
    if (this.accept('AS')) return this.name('an alias')
    return this.atName() ? this.name('an alias') : undefined
  }

  parseStatement(): Query {
    const q = this.query()
    if (this.tok.t !== 'end') {
      for (const clause of REFUSED_CLAUSES)
        if (this.is(clause[0]) && (clause[1] === undefined || this.is(clause[1], 1)))
          this.fail(`${clause.join(' ')} is not accepted in tenant SQL`)
      this.fail('unexpected text after the query')
    }
    return q
  }

  private query(): Query {
    return this.nest(() => {
      const ctes: Cte[] = []
      if (this.accept('WITH')) {
        do ctes.push(this.cte())
        while (this.acceptOp(','))
      }
      const first = this.selectTerm()
      const rest: { op: SetOp; term: SelectTerm }[] = []
      for (;;) {
        const set = ['UNION', 'EXCEPT', 'INTERSECT'].find((w) => this.is(w))
        if (set === undefined) break
        this.i++
        const mode = this.accept('ALL') ? 'ALL' : this.accept('DISTINCT') ? 'DISTINCT' : 'DISTINCT'
        rest.push({ op: `${set} ${mode}` as SetOp, term: this.selectTerm() })
      }
      return { ctes, first, rest }
    })
  }

  private cte(): Cte {
    // `name AS (SELECT …)` names a subquery; anything else is `expr AS name`.
    if (
      (this.tok.t === 'word' || this.tok.t === 'ident') &&
      this.is('AS', 1) &&
      this.isOp('(', 2) &&
      this.atQuery(3)
    ) {
      const name = this.name('a name')
      this.expect('AS')
      this.expectOp('(')
      const q = this.query()
      this.expectOp(')')
      return { k: 'table', name, q }
    }
    const e = this.expr()
    this.expect('AS')
    return { k: 'expr', name: this.name('a name'), e }
  }

  private selectTerm(): SelectTerm {
    if (this.acceptOp('(')) {
      const q = this.query()
      this.expectOp(')')
      return { k: 'paren', q }
    }
    return { k: 'select', s: this.select() }
  }

  private select(): Select {
    this.expect('SELECT')
    if (this.is('DISTINCT') && this.is('ON', 1)) this.fail('DISTINCT ON is not accepted')
    const distinct = this.accept('DISTINCT')
    if (this.is('TOP')) this.fail('TOP is not accepted; use LIMIT')
    const items: SelectItem[] = []
    do items.push(this.selectItem())
    while (this.acceptOp(','))
    const s: Select = { distinct, items, from: [], orderBy: [] }
    if (this.accept('FROM')) s.from = this.from()
    if (this.is('PREWHERE')) this.fail('PREWHERE is not accepted; write the condition in WHERE')
    if (this.accept('WHERE')) s.where = this.expr()
    if (this.accept('GROUP')) {
      this.expect('BY')
      if (this.accept('ALL')) s.groupBy = { all: true }
      else s.groupBy = { all: false, exprs: this.exprList() }
      if (this.is('WITH')) this.fail('WITH ROLLUP, CUBE and TOTALS are not accepted')
    }
    if (this.accept('HAVING')) s.having = this.expr()
    if (this.is('WINDOW')) this.fail('named windows are not accepted; write OVER (…) in place')
    if (this.is('QUALIFY')) this.fail('QUALIFY is not accepted; filter in an outer query')
    if (this.accept('ORDER')) {
      this.expect('BY')
      s.orderBy = this.orderList()
    }
    if (this.accept('LIMIT')) {
      const a = this.integer('LIMIT')
      let count = a
      let offset = 0n
      if (this.acceptOp(',')) {
        offset = a
        count = this.integer('LIMIT')
      } else if (this.accept('OFFSET')) offset = this.integer('OFFSET')
      if (this.is('BY')) this.fail('LIMIT BY is not accepted')
      if (this.is('WITH')) this.fail('LIMIT … WITH TIES is not accepted')
      s.limit = { count, offset }
    } else if (this.accept('OFFSET')) {
      const offset = this.integer('OFFSET')
      this.accept('ROWS')
      s.limit = { count: 2n ** 62n, offset }
    }
    return s
  }

  private integer(what: string): bigint {
    const t = this.tok
    if (t.t !== 'num' || !/^\d{1,18}$/.test(t.v)) this.fail(`${what} takes a whole number`)
    this.i++
    return BigInt(t.v)
  }

  private selectItem(): SelectItem {
    if (this.acceptOp('*')) return { k: 'star' }
    if ((this.tok.t === 'word' || this.tok.t === 'ident') && this.isOp('.', 1) && this.isOp('*', 2)) {
      const table = this.name('a table')
      this.i += 2
      return { k: 'star', table }
    }
    if (this.is('COLUMNS')) this.fail('COLUMNS(…) is not accepted; name the columns')
    const e = this.expr()
    const alias = this.alias()
    return alias === undefined ? { k: 'expr', e } : { k: 'expr', e, alias }
  }

  private from(): FromItem[] {
    const items: FromItem[] = [{ table: this.tableExpr() }]
    for (;;) {
      if (this.acceptOp(',')) {
        items.push({ table: this.tableExpr(), join: { kind: 'CROSS' } })
        continue
      }
      const join = this.joinHead()
      if (!join) break
      const table = this.tableExpr()
      if (join.kind !== 'CROSS') {
        if (this.accept('ON')) join.on = this.expr()
        else if (this.accept('USING')) {
          const paren = this.acceptOp('(')
          join.using = []
          do join.using.push(this.name('a column'))
          while (this.acceptOp(','))
          if (paren) this.expectOp(')')
        } else this.fail('a JOIN needs ON or USING')
      }
      items.push({ table, join })
    }
    if (this.is('ARRAY') || (this.is('LEFT') && this.is('ARRAY', 1)))
      this.fail('ARRAY JOIN is not accepted; use arrayJoin()')
    return items
  }

  private joinHead(): Join | undefined {
    const start = this.i
    if (this.is('GLOBAL')) this.fail('GLOBAL joins are not accepted')
    let strictness: Join['strictness']
    let kind: Join['kind'] | undefined
    for (let n = 0; n < 3; n++) {
      const w = this.tok.t === 'word' ? this.tok.v.toUpperCase() : ''
      if (strictness === undefined && ['ANY', 'ALL', 'SEMI', 'ANTI', 'ASOF'].includes(w)) {
        strictness = w as Join['strictness']
        this.i++
      } else if (kind === undefined && ['INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS'].includes(w)) {
        kind = w as Join['kind']
        this.i++
        this.accept('OUTER')
      } else break
    }
    if (!this.accept('JOIN')) {
      this.i = start
      return undefined
    }
    return { kind: kind ?? 'INNER', strictness }
  }

  private tableExpr(): TableExpr {
    let source: TableExpr['source']
    if (this.acceptOp('(')) {
      if (!this.atQuery() && !this.isOp('(')) this.fail('expected a subquery')
      source = { k: 'subquery', q: this.query() }
      this.expectOp(')')
    } else {
      const name = this.name('a table')
      if (this.isOp('.'))
        this.fail(`tables are read by their bare names (${scopedNames()}); ${name}.… is not one`)
      if (this.isOp('(')) this.fail(`table functions such as ${name}(…) are not accepted`)
      source = { k: 'name', name }
    }
    if (this.is('FINAL')) this.fail('FINAL is not accepted: the rollup tables are already merged')
    if (this.is('SAMPLE')) this.fail('SAMPLE is not accepted')
    const alias = this.alias()
    if (this.is('FINAL') || this.is('SAMPLE')) this.fail(`${this.tok.v.toUpperCase()} is not accepted`)
    return { source, alias }
  }

  private orderList(): OrderItem[] {
    const items: OrderItem[] = []
    do {
      const item: OrderItem = { e: this.expr(), desc: false }
      if (this.accept('DESC') || this.accept('DESCENDING')) item.desc = true
      else if (!this.accept('ASC')) this.accept('ASCENDING')
      if (this.accept('NULLS')) {
        if (this.accept('FIRST')) item.nulls = 'FIRST'
        else {
          this.expect('LAST')
          item.nulls = 'LAST'
        }
      }
      if (this.accept('COLLATE')) {
        const t = this.tok
        if (t.t !== 'str') this.fail('COLLATE takes a string')
        this.i++
        item.collate = t.v
      }
      if (this.is('WITH') && this.is('FILL', 1)) this.fail('WITH FILL is not accepted')
      items.push(item)
    } while (this.acceptOp(','))
    return items
  }

  private exprList(): Expr[] {
    const list: Expr[] = []
    do list.push(this.expr())
    while (this.acceptOp(','))
    return list
  }

  expr(): Expr {
    return this.nest(() => {
      const e = this.or()
      if (this.isOp('?')) this.fail('write a ? b : c as if(a, b, c)')
      return e
    })
  }

  private or(): Expr {
    let l = this.and()
    while (this.accept('OR')) l = { k: 'bin', op: 'OR', l, r: this.and() }
    return l
  }

  private and(): Expr {
    let l = this.not()
    while (this.accept('AND')) l = { k: 'bin', op: 'AND', l, r: this.not() }
    return l
  }

  private not(): Expr {
    if (this.accept('NOT')) return { k: 'not', e: this.nest(() => this.not()) }
    return this.comparison()
  }

  private comparison(): Expr {
    const l = this.additive()
    const t = this.tok
    if (t.t === 'op' && ['=', '==', '!=', '<>', '<', '>', '<=', '>='].includes(t.v)) {
      this.i++
      const op = (t.v === '==' ? '=' : t.v === '<>' ? '!=' : t.v) as BinOp
      return { k: 'bin', op, l, r: this.additive() }
    }
    const not =
      this.is('NOT') &&
      (this.is('LIKE', 1) || this.is('ILIKE', 1) || this.is('IN', 1) || this.is('BETWEEN', 1))
    if (not) this.i++
    if (this.accept('LIKE')) return { k: 'bin', op: not ? 'NOT LIKE' : 'LIKE', l, r: this.additive() }
    if (this.accept('ILIKE')) return { k: 'bin', op: not ? 'NOT ILIKE' : 'ILIKE', l, r: this.additive() }
    if (this.accept('BETWEEN')) {
      const lo = this.additive()
      this.expect('AND')
      const hi = this.additive()
      const inside: Expr = {
        k: 'bin',
        op: 'AND',
        l: { k: 'bin', op: '>=', l, r: lo },
        r: { k: 'bin', op: '<=', l, r: hi },
      }
      return not ? { k: 'not', e: inside } : inside
    }
    if (this.is('GLOBAL')) this.fail('GLOBAL IN is not accepted')
    if (this.accept('IN')) return { k: 'in', e: l, not, r: this.inRight() }
    if (not) this.fail('expected LIKE, ILIKE, IN or BETWEEN after NOT')
    if (this.accept('IS')) {
      const isNot = this.accept('NOT')
      this.expect('NULL')
      return { k: 'isNull', e: l, not: isNot }
    }
    return l
  }

  /** The right side of IN: a list, a subquery or an array; never a name (that would read a table). */
  private inRight(): Extract<Expr, { k: 'in' }>['r'] {
    if (this.acceptOp('(')) {
      if (this.atQuery()) {
        const q = this.query()
        this.expectOp(')')
        return { k: 'query', q }
      }
      const items = this.exprList()
      this.expectOp(')')
      return { k: 'list', items }
    }
    if (this.isOp('[')) return { k: 'expr', e: this.postfix() }
    return this.fail('IN takes a list in parentheses, a subquery or an array')
  }

  private additive(): Expr {
    let l = this.multiplicative()
    for (;;) {
      if (this.acceptOp('+')) l = { k: 'bin', op: '+', l, r: this.multiplicative() }
      else if (this.acceptOp('-')) l = { k: 'bin', op: '-', l, r: this.multiplicative() }
      else if (this.acceptOp('||'))
        l = { k: 'fn', name: 'concat', args: [l, this.multiplicative()], distinct: false }
      else return l
    }
  }

  private multiplicative(): Expr {
    let l = this.unary()
    for (;;) {
      const t = this.tok
      if (t.t === 'op' && (t.v === '*' || t.v === '/' || t.v === '%')) {
        this.i++
        l = { k: 'bin', op: t.v, l, r: this.unary() }
      } else if (this.is('DIV') || this.is('MOD')) {
        this.fail('write DIV and MOD as intDiv() and modulo()')
      } else return l
    }
  }

  private unary(): Expr {
    if (this.acceptOp('-')) return { k: 'neg', e: this.nest(() => this.unary()) }
    if (this.acceptOp('+')) return this.nest(() => this.unary())
    return this.postfix()
  }

  private postfix(): Expr {
    let e = this.primary()
    for (;;) {
      if (this.acceptOp('[')) {
        const i = this.expr()
        this.expectOp(']')
        e = { k: 'index', e, i }
      } else if (this.isOp('.') && this.peek().t === 'num' && /^\d+$/.test(this.peek().v)) {
        this.i++
        e = { k: 'element', e, n: this.tok.v }
        this.i++
      } else if (this.isOp('::')) {
        this.i++
        const type = this.typeText()
        e = { k: 'fn', name: 'CAST', args: [e, { k: 'str', v: type }], distinct: false }
      } else return e
    }
  }

  /** A type after `::`, kept as the text CAST takes. */
  private typeText(): string {
    const start = this.tok
    const name = this.name('a type')
    if (!this.isOp('(')) return name
    let depth = 0
    let text = name
    do {
      const t = this.tok
      if (t.t === 'end') this.fail('an unterminated type', start)
      if (t.v === '(') depth++
      if (t.v === ')') depth--
      text += t.t === 'str' ? clickHouseString(t.v) : t.v
      this.i++
    } while (depth > 0)
    return text
  }

  private primary(): Expr {
    const t = this.tok
    if (t.t === 'num') {
      this.i++
      return { k: 'num', v: t.v }
    }
    if (t.t === 'str') {
      this.i++
      return { k: 'str', v: t.v }
    }
    if (t.t === 'op' && t.v === '(') return this.paren()
    if (t.t === 'op' && t.v === '[') {
      this.i++
      const items = this.isOp(']') ? [] : this.exprList()
      this.expectOp(']')
      return { k: 'array', items }
    }
    if (t.t === 'word') {
      const w = t.v.toUpperCase()
      if (w === 'NULL') return this.skip({ k: 'null' })
      if (w === 'TRUE' || w === 'FALSE') return this.skip({ k: 'bool', v: w === 'TRUE' })
      if (w === 'INF' || w === 'NAN') return this.skip({ k: 'num', v: t.v.toLowerCase() })
      if (w === 'CASE') return this.caseExpr()
      if (w === 'INTERVAL' && this.peek().t !== 'op') return this.interval()
      if (w === 'CAST' && this.isOp('(', 1)) return this.cast()
      if (w === 'SELECT' || w === 'WITH') this.fail('a subquery must be in parentheses')
    }
    if (t.t === 'word' || t.t === 'ident') {
      if (t.t === 'word' && this.isOp('->', 1)) {
        this.i += 2
        return { k: 'lambda', params: [t.v], body: this.expr() }
      }
      if (t.t === 'word' && this.isOp('(', 1)) return this.call()
      if (t.t === 'word' && RESERVED.has(t.v.toUpperCase())) this.fail(`unexpected ${t.v.toUpperCase()}`)
      const parts = [this.name('a column')]
      while (this.isOp('.') && (this.peek().t === 'word' || this.peek().t === 'ident')) {
        this.i++
        parts.push(this.name('a column'))
      }
      return { k: 'col', parts }
    }
    return this.fail('expected an expression')
  }

  private skip(e: Expr): Expr {
    this.i++
    return e
  }

  /** `( … )`: a subquery, a lambda's parameters, a tuple or a parenthesised expression. */
  private paren(): Expr {
    this.i++
    if (this.atQuery()) {
      const q = this.query()
      this.expectOp(')')
      return { k: 'subquery', q }
    }
    // (x, y) -> body
    let k = 0
    while (this.peek(k).t === 'word' && (this.isOp(',', k + 1) || this.isOp(')', k + 1))) {
      if (this.isOp(')', k + 1)) {
        if (this.isOp('->', k + 2)) {
          const params: string[] = []
          for (let j = 0; j <= k; j += 2) params.push(this.peek(j).v)
          this.i += k + 3
          return { k: 'lambda', params, body: this.expr() }
        }
        break
      }
      k += 2
    }
    if (this.acceptOp(')')) return { k: 'tuple', items: [] }
    const first = this.expr()
    if (this.acceptOp(')')) return first
    this.expectOp(',')
    const items = [first, ...(this.isOp(')') ? [] : this.exprList())]
    this.expectOp(')')
    return { k: 'tuple', items }
  }

  private call(): Expr {
    const name = this.tok.v
    this.i += 2
    let fn = this.args(name)
    if (this.isOp('(')) {
      // A parametric aggregate: quantile(0.9)(value).
      this.i++
      const params = fn.args
      if (fn.distinct || fn.star) this.fail(`${name}(…)(…) takes plain parameters`)
      fn = { ...this.args(name), params }
    }
    if (this.accept('OVER')) {
      if (!this.isOp('(')) this.fail('OVER takes a window in parentheses')
      this.i++
      fn.over = this.window()
    }
    if (this.is('RESPECT') || this.is('IGNORE')) this.fail('RESPECT/IGNORE NULLS is not accepted')
    return fn
  }

  /** Arguments after the opening parenthesis, through the closing one. */
  private args(name: string): Extract<Expr, { k: 'fn' }> {
    if (this.acceptOp(')')) return { k: 'fn', name, args: [], distinct: false }
    if (this.isOp('*') && this.isOp(')', 1)) {
      this.i += 2
      return { k: 'fn', name, args: [], distinct: false, star: true }
    }
    const distinct = this.accept('DISTINCT')
    if (!distinct) this.accept('ALL')
    const args = this.exprList()
    if (this.is('SETTINGS')) this.fail('SETTINGS are not accepted')
    this.expectOp(')')
    return { k: 'fn', name, args, distinct }
  }

  private window(): Window {
    const w: Window = { partitionBy: [], orderBy: [] }
    if (this.accept('PARTITION')) {
      this.expect('BY')
      w.partitionBy = this.exprList()
    }
    if (this.accept('ORDER')) {
      this.expect('BY')
      w.orderBy = this.orderList()
    }
    const unit = this.accept('ROWS') ? 'ROWS' : this.accept('RANGE') ? 'RANGE' : undefined
    if (unit !== undefined) {
      if (this.accept('BETWEEN')) {
        const start = this.bound()
        this.expect('AND')
        w.frame = { unit, start, end: this.bound() }
      } else w.frame = { unit, start: this.bound(), end: { k: 'current' } }
    }
    this.expectOp(')')
    return w
  }

  private bound(): FrameBound {
    if (this.accept('UNBOUNDED')) {
      if (this.accept('PRECEDING')) return { k: 'unbounded', dir: 'PRECEDING' }
      this.expect('FOLLOWING')
      return { k: 'unbounded', dir: 'FOLLOWING' }
    }
    if (this.accept('CURRENT')) {
      this.expect('ROW')
      return { k: 'current' }
    }
    const n = this.integer('a window frame')
    if (this.accept('PRECEDING')) return { k: 'offset', n, dir: 'PRECEDING' }
    this.expect('FOLLOWING')
    return { k: 'offset', n, dir: 'FOLLOWING' }
  }

  private caseExpr(): Expr {
    this.i++
    const subject = this.is('WHEN') ? undefined : this.expr()
    const args: Expr[] = subject ? [subject] : []
    let whens = 0
    while (this.accept('WHEN')) {
      args.push(this.expr())
      this.expect('THEN')
      args.push(this.expr())
      whens++
    }
    if (whens === 0) this.fail('CASE needs WHEN')
    args.push(this.accept('ELSE') ? this.expr() : { k: 'null' })
    this.expect('END')
    return { k: 'fn', name: subject ? 'caseWithExpression' : 'multiIf', args, distinct: false }
  }

  private interval(): Expr {
    this.i++
    const n = this.additive()
    const unit = this.tok.t === 'word' ? INTERVAL_UNITS[this.tok.v.toUpperCase()] : undefined
    if (unit === undefined)
      this.fail('INTERVAL needs a unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER, YEAR)')
    this.i++
    return { k: 'fn', name: `toInterval${unit}`, args: [n], distinct: false }
  }

  private cast(): Expr {
    this.i += 2
    const e = this.expr()
    let type: Expr
    if (this.accept('AS')) type = { k: 'str', v: this.typeText() }
    else {
      this.expectOp(',')
      type = this.expr()
    }
    this.expectOp(')')
    return { k: 'fn', name: 'CAST', args: [e, type], distinct: false }
  }
}

const INTERVAL_UNITS: Record<string, string> = {
  NANOSECOND: 'Nanosecond',
  MICROSECOND: 'Microsecond',
  MILLISECOND: 'Millisecond',
  SECOND: 'Second',
  MINUTE: 'Minute',
  HOUR: 'Hour',
  DAY: 'Day',
  WEEK: 'Week',
  MONTH: 'Month',
  QUARTER: 'Quarter',
  YEAR: 'Year',
}

/** Words that end an expression or start a clause, so they are never read as an implicit alias. */
const RESERVED = new Set(
  'SELECT FROM WHERE GROUP HAVING ORDER LIMIT OFFSET UNION EXCEPT INTERSECT JOIN INNER LEFT RIGHT FULL CROSS OUTER ANY ALL SEMI ANTI ASOF ON USING AS AND OR NOT IN IS NULL LIKE ILIKE BETWEEN CASE WHEN THEN ELSE END WITH DISTINCT ASC DESC NULLS COLLATE SETTINGS FORMAT INTO PREWHERE FINAL SAMPLE ARRAY GLOBAL WINDOW QUALIFY OVER PARTITION BY INTERVAL'.split(
    ' ',
  ),
)

const REFUSED_CLAUSES: [string, string?][] = [['SETTINGS'], ['FORMAT'], ['INTO', 'OUTFILE'], ['INTO']]

export function parseSelect(text: string): Query {
  return new Parser(tokenize(text)).parseStatement()
}
