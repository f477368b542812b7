/**
 * PromQL text → ast.ts, by recursive descent with precedence climbing for binary operators. Precedence,
 * associativity and error wording follow Prometheus's own parser, so a query means here what it means
 * there and Grafana shows our errors the way it shows Prometheus's. Function names and argument types
 * are left for the engine to check.
 */
import { promRegExp } from './regex.ts'
import type {
  Aggregate,
  AggregateOp,
  BinaryOp,
  Expr,
  LabelMatcher,
  MatchOp,
  MatrixSelector,
  VectorMatching,
  VectorSelector,
} from './ast.ts'
import { PromQLError, parseError } from './errors.ts'
import { Lexer, type Token } from './lexer.ts'

const AGGREGATE_OPS: readonly AggregateOp[] = ['sum', 'avg', 'min', 'max', 'count', 'topk', 'bottomk']
const UNSUPPORTED_AGGREGATE_OPS = [
  'stddev',
  'stdvar',
  'group',
  'count_values',
  'quantile',
  'limitk',
  'limit_ratio',
]
const SET_OPS: readonly BinaryOp[] = ['and', 'or', 'unless']
const COMPARISON_OPS: readonly BinaryOp[] = ['==', '!=', '>', '<', '>=', '<=']
const MATCH_OPS: readonly MatchOp[] = ['=', '!=', '=~', '!~']
// Words that only mean something after an operand or operator, so they cannot start an expression.
const MODIFIER_KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']

type Operator = BinaryOp | 'atan2'
/** Higher binds tighter; Prometheus's table. Only `^` is right-associative. */
const PRECEDENCE = new Map<Operator, number>([
  ['or', 1],
  ['and', 2],
  ['unless', 2],
  ['==', 3],
  ['!=', 3],
  ['<', 3],
  ['<=', 3],
  ['>', 3],
  ['>=', 3],
  ['+', 4],
  ['-', 4],
  ['*', 5],
  ['/', 5],
  ['%', 5],
  ['atan2', 5],
  ['^', 6],
])
// Spelled `<op:…>` in error messages, as Prometheus spells operators.
const OPERATOR_TEXTS = new Set<string>([...PRECEDENCE.keys(), ...MATCH_OPS])
// Prometheus gives unary minus the precedence of `*`, so its operand is anything that binds tighter:
// `-2 ^ 2` is -(2 ^ 2) but `-a * b` is (-a) * b.
const UNARY_OPERAND_PRECEDENCE = 6

// Far beyond any real query, well within Node's default stack.
const MAX_DEPTH = 500

interface Grouping {
  grouping: 'by' | 'without'
  labels: string[]
}

export function parsePromQL(query: string): Expr {
  return new Parser(query).parseQuery()
}

class Parser {
  private readonly lexer: Lexer
  private depth = 0

  constructor(query: string) {
    this.lexer = new Lexer(query)
  }

  parseQuery(): Expr {
    if (this.lexer.peek().kind === 'eof') throw parseError(0, 'no expression found in input')
    const expr = this.parseExpr(0)
    const rest = this.lexer.next()
    if (rest.kind !== 'eof') throw unexpected(rest)
    return expr
  }

  /** Parses operands joined by operators that bind at least as tightly as `minPrecedence`. */
  private parseExpr(minPrecedence: number): Expr {
    // A few thousand `(` would otherwise overflow the stack: a RangeError, answered as a server fault.
    if (++this.depth > MAX_DEPTH) {
      throw parseError(this.lexer.peek().pos, `expression nested more than ${MAX_DEPTH} levels deep`)
    }
    let lhs = this.parseUnary()
    for (;;) {
      const operator = binaryOperator(this.lexer.peek())
      if (operator === undefined || operator.precedence < minPrecedence) {
        this.depth--
        return lhs
      }
      this.lexer.next()
      const { op, precedence } = operator
      if (op === 'atan2') throw new PromQLError('bad_data', 'the atan2 operator is not supported')
      const { returnBool, matching } = this.parseBinaryModifiers(op)
      const rhs = this.parseExpr(op === '^' ? precedence : precedence + 1)
      lhs = { kind: 'binary', op, lhs, rhs, returnBool, matching, pos: lhs.pos }
    }
  }

  private parseUnary(): Expr {
    const t = this.lexer.peek()
    if (!isPunct(t, '-') && !isPunct(t, '+')) return this.parsePostfix(this.parsePrimary())
    this.lexer.next()
    const op = t.text === '-' ? '-' : '+'
    const expr = this.parseExpr(UNARY_OPERAND_PRECEDENCE)
    // Prometheus folds a sign into a number literal, so `-5` is the number -5, not an operation.
    if (expr.kind === 'number')
      return { kind: 'number', value: op === '-' ? -expr.value : expr.value, pos: t.pos }
    return { kind: 'unary', op, expr, pos: t.pos }
  }

  private parsePrimary(): Expr {
    const t = this.lexer.peek()
    if (isPunct(t, '{')) return this.parseSelector(undefined, t.pos)
    this.lexer.next()
    switch (t.kind) {
      case 'number':
        return { kind: 'number', value: t.value, pos: t.pos }
      case 'string':
        return { kind: 'string', value: t.value, pos: t.pos }
      case 'ident':
        return this.parseIdentifierExpr(t)
      case 'punct':
        if (t.text === '(') {
          const expr = this.parseExpr(0)
          const close = this.lexer.next()
          if (!isPunct(close, ')')) throw unexpected(close, 'paren expression', '")"')
          return { kind: 'paren', expr, pos: t.pos }
        }
        throw unexpected(t)
      default:
        throw unexpected(t)
    }
  }

  private parseIdentifierExpr(t: Token): Expr {
    const word = t.text.toLowerCase()
    if (word === 'inf' || word === 'nan')
      return { kind: 'number', value: word === 'inf' ? Infinity : NaN, pos: t.pos }
    const aggregateOp = AGGREGATE_OPS.find((op) => op === word)
    if (aggregateOp !== undefined) return this.parseAggregate(aggregateOp, t.pos)
    if (UNSUPPORTED_AGGREGATE_OPS.includes(word)) {
      throw new PromQLError('bad_data', `aggregation "${word}" is not supported`)
    }
    if (MODIFIER_KEYWORDS.includes(word) || binaryOperator(t) !== undefined) throw unexpected(t)
    if (isPunct(this.lexer.peek(), '(') && !t.text.includes(':')) {
      return { kind: 'call', func: t.text, args: this.parseArgs('function call'), pos: t.pos }
    }
    return this.parseSelector(t.text, t.pos)
  }

  /** `(expr, ...)`, for function calls and aggregations alike. */
  private parseArgs(context: string): Expr[] {
    const open = this.lexer.next()
    if (!isPunct(open, '(')) throw unexpected(open, context, '"("')
    const args: Expr[] = []
    if (isPunct(this.lexer.peek(), ')')) {
      this.lexer.next()
      return args
    }
    for (;;) {
      args.push(this.parseExpr(0))
      const sep = this.lexer.next()
      if (isPunct(sep, ')')) return args
      if (!isPunct(sep, ',')) throw unexpected(sep, context, '"," or ")"')
      if (isPunct(this.lexer.peek(), ')'))
        throw parseError(sep.pos, 'trailing commas not allowed in function call args')
    }
  }

  private parseAggregate(op: AggregateOp, pos: number): Aggregate {
    // The grouping clause may come before the body (`sum by (a) (x)`) or after it (`sum (x) by (a)`).
    const before = this.parseGrouping()
    const args = this.parseArgs('aggregation')
    const { grouping, labels } = before ?? this.parseGrouping() ?? { grouping: 'by', labels: [] }
    const [first, second, ...rest] = args
    if (first === undefined) throw parseError(pos, 'no arguments for aggregate expression provided')
    const wanted = op === 'topk' || op === 'bottomk' ? 2 : 1
    if (wanted === 1 && second === undefined) {
      return { kind: 'aggregate', op, param: undefined, expr: first, grouping, labels, pos }
    }
    if (wanted === 2 && second !== undefined && rest.length === 0) {
      return { kind: 'aggregate', op, param: first, expr: second, grouping, labels, pos }
    }
    throw parseError(
      pos,
      `wrong number of arguments for aggregate expression provided, expected ${wanted}, got ${args.length}`,
    )
  }

  private parseGrouping(): Grouping | undefined {
    const grouping = keywordOf(this.lexer.peek(), ['by', 'without'] as const)
    if (grouping === undefined) return undefined
    this.lexer.next()
    return { grouping, labels: this.parseLabelList() }
  }

  /** `(a, b)`: labels for by/without/on/ignoring/group_*; keywords are fine as label names here. */
  private parseLabelList(): string[] {
    const context = 'grouping opts'
    const open = this.lexer.next()
    if (!isPunct(open, '(')) throw unexpected(open, context, '"("')
    const labels: string[] = []
    for (;;) {
      const label = this.lexer.next()
      if (isPunct(label, ')')) return labels
      if (label.kind !== 'ident') throw unexpected(label, context, 'label')
      if (label.text.includes(':'))
        throw parseError(label.pos, `invalid label name for grouping: "${label.text}"`)
      labels.push(label.text)
      const sep = this.lexer.next()
      if (isPunct(sep, ')')) return labels
      if (!isPunct(sep, ',')) throw unexpected(sep, context, '"," or ")"')
    }
  }

  private parseBinaryModifiers(op: BinaryOp): { returnBool: boolean; matching: VectorMatching } {
    const matching: VectorMatching = { matchOn: 'ignoring', labels: [], card: 'one-to-one', include: [] }
    let returnBool = false
    const boolToken = this.lexer.peek()
    if (keywordOf(boolToken, ['bool']) !== undefined) {
      this.lexer.next()
      if (!COMPARISON_OPS.includes(op)) {
        throw parseError(boolToken.pos, 'bool modifier can only be used on comparison operators')
      }
      returnBool = true
    }
    const matchOn = keywordOf(this.lexer.peek(), ['on', 'ignoring'] as const)
    if (matchOn === undefined) return { returnBool, matching }
    this.lexer.next()
    matching.matchOn = matchOn
    matching.labels = this.parseLabelList()

    const groupToken = this.lexer.peek()
    const card = keywordOf(groupToken, ['group_left', 'group_right'] as const)
    if (card === undefined) return { returnBool, matching }
    this.lexer.next()
    if (SET_OPS.includes(op)) throw parseError(groupToken.pos, `no grouping allowed for "${op}" operation`)
    matching.card = card
    // The label list after group_left/group_right is optional.
    if (isPunct(this.lexer.peek(), '(')) matching.include = this.parseLabelList()
    const both = matchOn === 'on' ? matching.include.find((l) => matching.labels.includes(l)) : undefined
    if (both !== undefined) {
      throw parseError(groupToken.pos, `label "${both}" must not occur in ON and GROUP clause at once`)
    }
    return { returnBool, matching }
  }

  /** `name`, `name{...}` or `{...}`; the brace, if any, has not been consumed yet. */
  private parseSelector(name: string | undefined, pos: number): VectorSelector {
    const matchers: LabelMatcher[] = []
    if (name !== undefined) matchers.push({ name: '__name__', op: '=', value: name })
    if (isPunct(this.lexer.peek(), '{')) {
      this.lexer.next()
      this.parseMatchers(matchers)
    }
    const renamed = name === undefined ? undefined : matchers.slice(1).find((m) => m.name === '__name__')
    if (name !== undefined && renamed !== undefined) {
      throw parseError(pos, `metric name must not be set twice: "${name}" or "${renamed.value}"`)
    }
    // Prometheus refuses selectors that would match every series, which a typo can easily produce.
    if (matchers.every(matchesEmpty)) {
      throw parseError(pos, 'vector selector must contain at least one non-empty matcher')
    }
    return { kind: 'vector', matchers, offsetMs: 0, pos }
  }

  /** The inside of `{...}`, after the `{`; a trailing comma is allowed. */
  private parseMatchers(into: LabelMatcher[]): void {
    const context = 'label matching'
    for (;;) {
      const name = this.lexer.next()
      if (isPunct(name, '}')) return
      if (name.kind !== 'ident') throw unexpected(name, context, 'identifier or "}"')
      const opToken = this.lexer.next()
      const op = opToken.kind === 'punct' ? MATCH_OPS.find((o) => o === opToken.text) : undefined
      if (op === undefined) throw unexpected(opToken, context, 'label matching operator')
      const value = this.lexer.next()
      if (value.kind !== 'string') throw unexpected(value, context, 'string')
      if (op === '=~' || op === '!~') checkRegex(value.value, value.pos)
      into.push({ name: name.text, op, value: value.value })
      const sep = this.lexer.next()
      if (isPunct(sep, '}')) return
      if (!isPunct(sep, ',')) throw unexpected(sep, context, '"," or "}"')
    }
  }

  /** Ranges, offsets and `@`, which bind tighter than any operator. */
  private parsePostfix(expr: Expr): Expr {
    for (;;) {
      const t = this.lexer.peek()
      if (isPunct(t, '[')) {
        this.lexer.next()
        expr = this.parseRange(expr, t.pos)
      } else if (keywordOf(t, ['offset']) !== undefined) {
        this.lexer.next()
        this.parseOffset(expr, t.pos)
      } else if (isPunct(t, '@')) {
        throw new PromQLError('bad_data', 'the @ modifier is not supported')
      } else {
        return expr
      }
    }
  }

  /** After the `[`. */
  private parseRange(expr: Expr, pos: number): MatrixSelector {
    const range = this.lexer.next()
    if (range.kind !== 'duration') throw unexpected(range, 'range', 'duration')
    const close = this.lexer.next()
    // Checked before the operand's kind, so `rate(x[5m])[1h:1m]` says what is really missing.
    if (isPunct(close, ':')) throw new PromQLError('bad_data', 'subqueries are not supported')
    if (!isPunct(close, ']')) throw unexpected(close, 'range', '"]"')
    if (expr.kind !== 'vector') throw parseError(pos, 'ranges only allowed for vector selectors')
    if (expr.offsetMs !== 0) throw parseError(pos, 'no offset modifiers allowed before range')
    return { kind: 'matrix', selector: expr, rangeMs: range.ms, pos: expr.pos }
  }

  /** After the `offset`; a range selector's offset lives on its inner selector. */
  private parseOffset(expr: Expr, pos: number): void {
    const negative = isPunct(this.lexer.peek(), '-')
    if (negative) this.lexer.next()
    const duration = this.lexer.next()
    if (duration.kind !== 'duration') throw unexpected(duration, 'offset', 'duration')
    const selector = expr.kind === 'vector' ? expr : expr.kind === 'matrix' ? expr.selector : undefined
    if (selector === undefined) {
      throw parseError(
        pos,
        'offset modifier must be preceded by an instant vector selector or range vector selector',
      )
    }
    if (selector.offsetMs !== 0) throw parseError(pos, 'offset may not be set multiple times')
    // `offset -0s` would otherwise store -0, which is not `toEqual` to 0.
    selector.offsetMs = negative && duration.ms !== 0 ? -duration.ms : duration.ms
  }
}

function binaryOperator(t: Token): { op: Operator; precedence: number } | undefined {
  const text = t.kind === 'ident' ? t.text.toLowerCase() : t.kind === 'punct' ? t.text : undefined
  for (const [op, precedence] of PRECEDENCE) if (op === text) return { op, precedence }
  return undefined
}

/** The keyword among `words` that `t` spells, in any case, as Prometheus's keywords are. */
function keywordOf<K extends string>(t: Token, words: readonly K[]): K | undefined {
  if (t.kind !== 'ident') return undefined
  const lower = t.text.toLowerCase()
  return words.find((w) => w === lower)
}

function isPunct(t: Token, text: string): boolean {
  return t.kind === 'punct' && t.text === text
}

const anchored = promRegExp

function checkRegex(value: string, pos: number): void {
  try {
    anchored(value)
  } catch (err) {
    // V8's message repeats the anchored pattern, which is not what the user wrote.
    const reason =
      err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : ''
    throw parseError(pos, `invalid regular expression "${value}": ${reason}`)
  }
}

function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.op) {
    case '=':
      return m.value === ''
    case '!=':
      return m.value !== ''
    case '=~':
      return anchored(m.value).test('')
    case '!~':
      return !anchored(m.value).test('')
  }
}

/** Prometheus's description of a token in "unexpected …" messages. */
function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input'
    case 'number':
      return `number "${t.text}"`
    case 'duration':
      return `duration "${t.text}"`
    case 'string':
      return `string ${JSON.stringify(t.text)}`
    case 'punct':
      return OPERATOR_TEXTS.has(t.text) ? `<op:${t.text}>` : `"${t.text}"`
    case 'ident': {
      const word = t.text.toLowerCase()
      if (AGGREGATE_OPS.some((op) => op === word) || UNSUPPORTED_AGGREGATE_OPS.includes(word))
        return `<aggr:${t.text}>`
      if (binaryOperator(t) !== undefined) return `<op:${t.text}>`
      if (MODIFIER_KEYWORDS.includes(word)) return `<${t.text}>`
      if (word === 'inf' || word === 'nan') return `number "${t.text}"`
      return `${t.text.includes(':') ? 'metric identifier' : 'identifier'} "${t.text}"`
    }
  }
}

function unexpected(t: Token, context?: string, expected?: string): PromQLError {
  const where = context === undefined ? '' : ` in ${context}`
  const wanted = expected === undefined ? '' : `, expected ${expected}`
  return parseError(t.pos, `unexpected ${describe(t)}${where}${wanted}`)
}
