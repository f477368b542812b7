import { describe, expect, it } from 'vitest'
import type {
  Aggregate,
  Binary,
  Call,
  Expr,
  LabelMatcher,
  MatchOp,
  MatrixSelector,
  NumberLiteral,
  VectorMatching,
  VectorSelector,
} from './ast.ts'
import { PromQLError } from './errors.ts'
import { parsePromQL } from './parser.ts'

const ONE_TO_ONE: VectorMatching = { matchOn: 'ignoring', labels: [], card: 'one-to-one', include: [] }

function m(name: string, op: MatchOp, value: string): LabelMatcher {
  return { name, op, value }
}

function metric(name: string, pos: number, more: LabelMatcher[] = [], offsetMs = 0): VectorSelector {
  return { kind: 'vector', matchers: [m('__name__', '=', name), ...more], offsetMs, pos }
}

function num(value: number, pos: number): NumberLiteral {
  return { kind: 'number', value, pos }
}

function range(selector: VectorSelector, rangeMs: number): MatrixSelector {
  return { kind: 'matrix', selector, rangeMs, pos: selector.pos }
}

function bin(op: Binary['op'], lhs: Expr, rhs: Expr, more: Partial<Binary> = {}): Binary {
  return { kind: 'binary', op, lhs, rhs, returnBool: false, matching: ONE_TO_ONE, pos: lhs.pos, ...more }
}

function call(func: string, args: Expr[], pos: number): Call {
  return { kind: 'call', func, args, pos }
}

function agg(op: Aggregate['op'], expr: Expr, pos: number, more: Partial<Aggregate> = {}): Aggregate {
  return { kind: 'aggregate', op, param: undefined, expr, grouping: 'by', labels: [], pos, ...more }
}

/** The message of the PromQLError that parsing `query` throws. */
function errorOf(query: string): string {
  try {
    parsePromQL(query)
  } catch (err) {
    if (err instanceof PromQLError && err.type === 'bad_data') return err.message
    throw err
  }
  throw new Error(`parsed without error: ${query}`)
}

describe('number literals', () => {
  it.each([
    ['1', 1],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['2.5e+2', 250],
    ['0x1f', 31],
    ['0X1F', 31],
    ['010', 8],
    ['09', 9],
    ['Inf', Infinity],
    ['inf', Infinity],
    ['INF', Infinity],
    ['NaN', NaN],
    ['nan', NaN],
  ])('%s', (query, value) => {
    expect(parsePromQL(query)).toEqual(num(value, 0))
  })

  it('folds a sign into the literal, as Prometheus does', () => {
    expect(parsePromQL('-5')).toEqual(num(-5, 0))
    expect(parsePromQL('+5')).toEqual(num(5, 0))
    expect(parsePromQL('- 1.5')).toEqual(num(-1.5, 0))
    expect(parsePromQL('-Inf')).toEqual(num(-Infinity, 0))
    expect(parsePromQL('--5')).toEqual(num(5, 0))
    expect(parsePromQL('1 + -2')).toEqual(bin('+', num(1, 0), num(-2, 4)))
  })

  it('keeps a sign on anything else as a unary node', () => {
    expect(parsePromQL('-x')).toEqual({ kind: 'unary', op: '-', expr: metric('x', 1), pos: 0 })
    expect(parsePromQL('+(1)')).toEqual({
      kind: 'unary',
      op: '+',
      expr: { kind: 'paren', expr: num(1, 2), pos: 1 },
      pos: 0,
    })
  })

  it('rejects numbers glued to letters', () => {
    expect(errorOf('5mb')).toBe('parse error at char 1: bad number or duration syntax: "5mb"')
    expect(errorOf('1 + 1.5e')).toBe('parse error at char 5: bad number or duration syntax: "1.5e"')
    expect(errorOf('0x1g')).toBe('parse error at char 1: bad number or duration syntax: "0x1g"')
  })
})

describe('string literals', () => {
  it.each([
    [String.raw`"double"`, 'double'],
    [String.raw`'single'`, 'single'],
    ['`raw \\n "x"`', String.raw`raw \n "x"`],
    [String.raw`"a\nb\tc\\d\"e"`, 'a\nb\tc\\d"e'],
    [String.raw`'it\'s'`, "it's"],
    [String.raw`"\u00e9\U0001F600"`, 'é😀'],
    [String.raw`"\x41\101"`, 'AA'],
    [String.raw`"\xc3\xa9"`, 'é'],
    [String.raw`"\a\b\f\r\v"`, '\x07\b\f\r\v'],
    ['"naïve ☃"', 'naïve ☃'],
  ])('%s', (query, value) => {
    expect(parsePromQL(query)).toEqual({ kind: 'string', value, pos: 0 })
  })

  it('rejects bad escapes and unterminated strings', () => {
    expect(errorOf(String.raw`"a\qb"`)).toBe("parse error at char 3: unknown escape sequence U+0071 'q'")
    expect(errorOf(String.raw`"\'"`)).toBe("parse error at char 2: unknown escape sequence U+0027 '\\''")
    expect(errorOf(String.raw`"\x4g"`)).toBe(
      "parse error at char 2: illegal character U+0067 'g' in escape sequence",
    )
    expect(errorOf(String.raw`"\ud800"`)).toBe(
      'parse error at char 2: escape sequence is an invalid Unicode code point',
    )
    expect(errorOf('"abc')).toBe('parse error at char 1: unterminated quoted string')
    expect(errorOf('"a\nb"')).toBe('parse error at char 1: unterminated quoted string')
    expect(errorOf('`abc')).toBe('parse error at char 1: unterminated raw string')
  })
})

describe('vector selectors', () => {
  it('turns the metric name into the first matcher', () => {
    expect(parsePromQL('up')).toEqual(metric('up', 0))
    expect(parsePromQL('up{}')).toEqual(metric('up', 0))
    expect(parsePromQL('job:node_cpu:rate5m')).toEqual(metric('job:node_cpu:rate5m', 0))
    expect(parsePromQL(':leading_colon')).toEqual(metric(':leading_colon', 0))
  })

  it('reads every matcher operator, with or without a trailing comma', () => {
    const matchers = [m('label', '=', 'v'), m('l2', '!=', 'x'), m('l3', '=~', 're.*'), m('l4', '!~', 'y')]
    expect(parsePromQL('metric_name{label="v", l2!="x", l3=~"re.*", l4!~"y"}')).toEqual(
      metric('metric_name', 0, matchers),
    )
    expect(parsePromQL("metric_name { label = 'v' , l2 != `x`, l3=~'re.*', l4!~\"y\", }")).toEqual(
      metric('metric_name', 0, matchers),
    )
  })

  it('reads a selector without a name', () => {
    expect(parsePromQL('{__name__="m", job="node"}')).toEqual({
      kind: 'vector',
      matchers: [m('__name__', '=', 'm'), m('job', '=', 'node')],
      offsetMs: 0,
      pos: 0,
    })
    expect(parsePromQL('{job!=""}')).toMatchObject({ matchers: [m('job', '!=', '')] })
    expect(parsePromQL('{job!~".*"}')).toMatchObject({ matchers: [m('job', '!~', '.*')] })
    expect(parsePromQL('{job=~".+", x=""}')).toMatchObject({
      matchers: [m('job', '=~', '.+'), m('x', '=', '')],
    })
  })

  it('takes keywords as label names inside braces', () => {
    expect(parsePromQL('x{by="1", offset="2", and="3", Inf="4", sum="5"}')).toEqual(
      metric('x', 0, [
        m('by', '=', '1'),
        m('offset', '=', '2'),
        m('and', '=', '3'),
        m('Inf', '=', '4'),
        m('sum', '=', '5'),
      ]),
    )
  })

  it('refuses selectors that match everything', () => {
    const message = 'parse error at char 1: vector selector must contain at least one non-empty matcher'
    expect(errorOf('{}')).toBe(message)
    expect(errorOf('{job=~".*"}')).toBe(message)
    expect(errorOf('{job=""}')).toBe(message)
    expect(errorOf('{job!="x"}')).toBe(message)
    expect(errorOf('{job!~".+"}')).toBe(message)
    expect(errorOf('1 + {a=~"x?", b=""}')).toBe(
      'parse error at char 5: vector selector must contain at least one non-empty matcher',
    )
  })

  it('names a bad regex', () => {
    expect(errorOf('x{a=~"("}')).toBe(
      'parse error at char 6: invalid regular expression "(": Unterminated group',
    )
    expect(errorOf('x{a!~"[z-a]"}')).toMatch(/^parse error at char 6: invalid regular expression "\[z-a\]": /)
  })

  it('refuses a name set twice', () => {
    expect(errorOf('foo{__name__="bar"}')).toBe(
      'parse error at char 1: metric name must not be set twice: "foo" or "bar"',
    )
  })

  it('reports malformed matchers', () => {
    expect(errorOf('x{a=}')).toBe('parse error at char 5: unexpected "}" in label matching, expected string')
    expect(errorOf('x{a}')).toBe(
      'parse error at char 4: unexpected "}" in label matching, expected label matching operator',
    )
    expect(errorOf('x{a="b" c="d"}')).toBe(
      'parse error at char 9: unexpected identifier "c" in label matching, expected "," or "}"',
    )
    expect(errorOf('x{,}')).toBe(
      'parse error at char 3: unexpected "," in label matching, expected identifier or "}"',
    )
    expect(errorOf('x{a=="b"}')).toBe(
      'parse error at char 5: unexpected <op:=> in label matching, expected string',
    )
    expect(errorOf('x{1="b"}')).toBe("parse error at char 3: unexpected character inside braces: '1'")
    expect(errorOf('x{a="b"')).toBe('parse error at char 8: unexpected end of input inside braces')
    expect(errorOf('x{a="b", {')).toBe("parse error at char 10: unexpected left brace '{'")
    expect(errorOf('x}')).toBe("parse error at char 2: unexpected right brace '}'")
    expect(errorOf('x{job=$job}')).toBe(
      `parse error at char 7: unexpected character inside braces: '$' ("$job" looks like an unexpanded template variable)`,
    )
  })
})

describe('range selectors, offsets and modifiers', () => {
  it('reads ranges', () => {
    expect(parsePromQL('x[5m]')).toEqual(range(metric('x', 0), 300_000))
    expect(parsePromQL('x{a="b"} [ 1h30m ]')).toEqual(range(metric('x', 0, [m('a', '=', 'b')]), 5_400_000))
    expect(parsePromQL('x[250ms]')).toEqual(range(metric('x', 0), 250))
  })

  it('reads offsets on instant and range selectors', () => {
    expect(parsePromQL('x offset 5m')).toEqual(metric('x', 0, [], 300_000))
    expect(parsePromQL('x OFFSET -5m')).toEqual(metric('x', 0, [], -300_000))
    expect(parsePromQL('x[5m] offset 1h')).toEqual(range(metric('x', 0, [], 3_600_000), 300_000))
    expect(parsePromQL('rate(x[5m] offset 1d)')).toEqual({
      kind: 'call',
      func: 'rate',
      args: [range(metric('x', 5, [], 86_400_000), 300_000)],
      pos: 0,
    })
    // The offset binds tighter than any operator.
    expect(parsePromQL('a - a offset 1w')).toEqual(bin('-', metric('a', 0), metric('a', 4, [], 604_800_000)))
    expect(parsePromQL('-x offset 1m')).toEqual({
      kind: 'unary',
      op: '-',
      expr: metric('x', 1, [], 60_000),
      pos: 0,
    })
  })

  it('rejects misplaced or malformed offsets and ranges', () => {
    expect(errorOf('x offset 5m offset 1m')).toBe(
      'parse error at char 13: offset may not be set multiple times',
    )
    expect(errorOf('x offset 5m [1m]')).toBe(
      'parse error at char 13: no offset modifiers allowed before range',
    )
    expect(errorOf('sum(x) offset 5m')).toBe(
      'parse error at char 8: offset modifier must be preceded by an instant vector selector or range vector selector',
    )
    expect(errorOf('x offset 5')).toBe(
      'parse error at char 10: unexpected number "5" in offset, expected duration',
    )
    expect(errorOf('x[1.5]')).toBe(
      'parse error at char 3: unexpected number "1.5" in range, expected duration',
    )
    expect(errorOf('x[1.5m]')).toBe('parse error at char 3: bad number or duration syntax: "1.5m"')
    expect(errorOf('x[5x]')).toBe('parse error at char 3: bad number or duration syntax: "5x"')
    expect(errorOf('x[1m1h]')).toBe('parse error at char 3: bad number or duration syntax: "1m1h"')
    expect(errorOf('(x)[5m]')).toBe('parse error at char 4: ranges only allowed for vector selectors')
    expect(errorOf('x[5m][5m]')).toBe('parse error at char 6: ranges only allowed for vector selectors')
    expect(errorOf('x[5m')).toBe('parse error at char 5: unclosed left bracket')
    expect(errorOf('x]')).toBe("parse error at char 2: unexpected right bracket ']'")
    expect(errorOf('5m')).toBe('parse error at char 1: unexpected duration "5m"')
  })

  it('names an unexpanded Grafana variable', () => {
    expect(errorOf('rate(x[$__rate_interval])')).toBe(
      `parse error at char 8: unexpected character: '$' ("$__rate_interval" looks like an unexpanded template variable)`,
    )
    expect(errorOf('x / ${total}')).toBe(
      `parse error at char 5: unexpected character: '$' ("\${total}" looks like an unexpanded template variable)`,
    )
    expect(errorOf('x ! y')).toBe("parse error at char 3: unexpected character: '!'")
  })

  it('refuses subqueries and @ as unsupported', () => {
    for (const query of ['x[5m:1m]', 'rate(x[5m])[1h:]', 'max_over_time(sum(x)[10m:1m])']) {
      const err = (() => {
        try {
          parsePromQL(query)
        } catch (e) {
          return e
        }
      })()
      expect(err).toBeInstanceOf(PromQLError)
      expect(err).toMatchObject({ type: 'bad_data', message: 'subqueries are not supported' })
    }
    expect(errorOf('x @ 1700000000')).toBe('the @ modifier is not supported')
    expect(errorOf('x[5m] @ end()')).toBe('the @ modifier is not supported')
  })
})

describe('function calls', () => {
  it('produces call nodes without judging the name', () => {
    expect(parsePromQL('rate(x[5m])')).toEqual({
      kind: 'call',
      func: 'rate',
      args: [range(metric('x', 5), 300_000)],
      pos: 0,
    })
    expect(parsePromQL('time()')).toEqual({ kind: 'call', func: 'time', args: [], pos: 0 })
    expect(parsePromQL('no_such_function (x, 1)')).toEqual({
      kind: 'call',
      func: 'no_such_function',
      args: [metric('x', 18), num(1, 21)],
      pos: 0,
    })
    expect(parsePromQL('label_replace(up, "dst", "$1", "src", "(.*)")')).toMatchObject({
      kind: 'call',
      func: 'label_replace',
      args: [
        { kind: 'vector' },
        { kind: 'string', value: 'dst' },
        { kind: 'string', value: '$1' },
        { kind: 'string', value: 'src' },
        { kind: 'string', value: '(.*)' },
      ],
    })
  })

  it('rejects malformed calls', () => {
    expect(errorOf('rate(x[5m],)')).toBe(
      'parse error at char 11: trailing commas not allowed in function call args',
    )
    expect(errorOf('rate(x[5m]')).toBe('parse error at char 5: unclosed left parenthesis')
    expect(errorOf('abs(x y)')).toBe(
      'parse error at char 7: unexpected identifier "y" in function call, expected "," or ")"',
    )
  })
})

describe('aggregations', () => {
  it('reads the grouping clause before or after the body, in any case', () => {
    const expected = agg('sum', metric('x', 15), 0, { labels: ['a', 'b'] })
    expect(parsePromQL('sum by (a, b) (x)')).toEqual(expected)
    expect(parsePromQL('SUM BY (a, b,) (x)')).toEqual({ ...expected, expr: metric('x', 16) })
    expect(parsePromQL('sum(x) by (a, b)')).toEqual(agg('sum', metric('x', 4), 0, { labels: ['a', 'b'] }))
    expect(parsePromQL('avg without (cpu) (x)')).toEqual(
      agg('avg', metric('x', 19), 0, { grouping: 'without', labels: ['cpu'] }),
    )
    expect(parsePromQL('count(x) without ()')).toEqual(
      agg('count', metric('x', 6), 0, { grouping: 'without' }),
    )
  })

  it('defaults to no grouping', () => {
    for (const op of ['sum', 'avg', 'min', 'max', 'count'] as const) {
      expect(parsePromQL(`${op}(x)`)).toEqual(agg(op, metric('x', op.length + 1), 0))
    }
  })

  it('takes keywords as grouping labels', () => {
    expect(parsePromQL('sum by (on, by, offset, sum) (x)')).toMatchObject({
      labels: ['on', 'by', 'offset', 'sum'],
    })
  })

  it('reads topk and bottomk with their parameter', () => {
    expect(parsePromQL('topk(5, x)')).toEqual(agg('topk', metric('x', 8), 0, { param: num(5, 5) }))
    expect(parsePromQL('bottomk by (a) (3, x)')).toEqual(
      agg('bottomk', metric('x', 19), 0, { param: num(3, 16), labels: ['a'] }),
    )
  })

  it('refuses aggregations it does not support', () => {
    expect(errorOf('stddev(x)')).toBe('aggregation "stddev" is not supported')
    expect(errorOf('1 + quantile(0.9, x)')).toBe('aggregation "quantile" is not supported')
    expect(errorOf('count_values("v", x)')).toBe('aggregation "count_values" is not supported')
    expect(errorOf('GROUP by (a) (x)')).toBe('aggregation "group" is not supported')
    for (const op of ['stdvar', 'limitk', 'limit_ratio']) {
      expect(errorOf(`${op}(x)`)).toBe(`aggregation "${op}" is not supported`)
    }
  })

  it('checks the number of arguments', () => {
    expect(errorOf('topk(x)')).toBe(
      'parse error at char 1: wrong number of arguments for aggregate expression provided, expected 2, got 1',
    )
    expect(errorOf('sum(a, b)')).toBe(
      'parse error at char 1: wrong number of arguments for aggregate expression provided, expected 1, got 2',
    )
    expect(errorOf('sum()')).toBe('parse error at char 1: no arguments for aggregate expression provided')
  })

  it('reports a malformed aggregation', () => {
    expect(errorOf('sum by (a)')).toBe(
      'parse error at char 11: unexpected end of input in aggregation, expected "("',
    )
    expect(errorOf('sum by a (x)')).toBe(
      'parse error at char 8: unexpected identifier "a" in grouping opts, expected "("',
    )
    expect(errorOf('sum by (a:b) (x)')).toBe('parse error at char 9: invalid label name for grouping: "a:b"')
    expect(errorOf('sum by ("a") (x)')).toBe(
      'parse error at char 9: unexpected string "\\"a\\"" in grouping opts, expected label',
    )
    expect(errorOf('sum by (a) (x) by (b)')).toBe('parse error at char 16: unexpected <by>')
    expect(errorOf('sum')).toBe('parse error at char 4: unexpected end of input in aggregation, expected "("')
  })
})

describe('binary operators', () => {
  const [a, b, c] = [metric('a', 0), metric('b', 4), metric('c', 8)]

  it('maps every operator', () => {
    for (const op of [
      '+',
      '-',
      '*',
      '/',
      '%',
      '^',
      '==',
      '!=',
      '>',
      '<',
      '>=',
      '<=',
      'and',
      'or',
      'unless',
    ] as const) {
      expect(parsePromQL(`a ${op} b`)).toEqual(bin(op, a, metric('b', op.length + 3)))
    }
    expect(parsePromQL('a AND b')).toEqual(bin('and', a, metric('b', 6)))
    expect(parsePromQL('a Unless b')).toEqual(bin('unless', a, metric('b', 9)))
  })

  it('follows Prometheus precedence and associativity', () => {
    expect(parsePromQL('a + b * c')).toEqual(bin('+', a, bin('*', b, c)))
    expect(parsePromQL('a * b + c')).toEqual(bin('+', bin('*', a, b), c))
    expect(parsePromQL('a - b - c')).toEqual(bin('-', bin('-', a, b), c))
    expect(parsePromQL('a / b % c')).toEqual(bin('%', bin('/', a, b), c))
    expect(parsePromQL('2 ^ 3 ^ 2')).toEqual(bin('^', num(2, 0), bin('^', num(3, 4), num(2, 8))))
    expect(parsePromQL('a or b and c')).toEqual(bin('or', a, bin('and', metric('b', 5), metric('c', 11))))
    expect(parsePromQL('a and b or c')).toEqual(bin('or', bin('and', a, metric('b', 6)), metric('c', 11)))
    expect(parsePromQL('a unless b and c')).toEqual(
      bin('and', bin('unless', a, metric('b', 9)), metric('c', 15)),
    )
    expect(parsePromQL('a > b + c')).toEqual(bin('>', a, bin('+', b, c)))
    expect(parsePromQL('a == b and c')).toEqual(bin('and', bin('==', a, metric('b', 5)), metric('c', 11)))
    expect(parsePromQL('(a + b) * c')).toEqual(
      bin('*', { kind: 'paren', expr: bin('+', metric('a', 1), metric('b', 5)), pos: 0 }, metric('c', 10)),
    )
  })

  it('binds unary minus looser than ^ but tighter than *', () => {
    expect(parsePromQL('-2 ^ 2')).toEqual({
      kind: 'unary',
      op: '-',
      expr: bin('^', num(2, 1), num(2, 5)),
      pos: 0,
    })
    expect(parsePromQL('-a * b')).toEqual(
      bin('*', { kind: 'unary', op: '-', expr: metric('a', 1), pos: 0 }, metric('b', 5)),
    )
    expect(parsePromQL('2 ^ -1')).toEqual(bin('^', num(2, 0), num(-1, 4)))
    expect(parsePromQL('a * -b')).toEqual(
      bin('*', a, { kind: 'unary', op: '-', expr: metric('b', 5), pos: 4 }),
    )
  })

  it('reads bool after a comparison', () => {
    expect(parsePromQL('x > bool 5')).toEqual(bin('>', metric('x', 0), num(5, 9), { returnBool: true }))
    expect(parsePromQL('x == BOOL on (a) y')).toEqual(
      bin('==', metric('x', 0), metric('y', 17), {
        returnBool: true,
        matching: { ...ONE_TO_ONE, matchOn: 'on', labels: ['a'] },
      }),
    )
    expect(errorOf('a + bool b')).toBe(
      'parse error at char 5: bool modifier can only be used on comparison operators',
    )
  })

  it('reads vector matching', () => {
    expect(parsePromQL('a / on (instance, device) group_left (fstype) b')).toEqual(
      bin('/', a, metric('b', 46), {
        matching: { matchOn: 'on', labels: ['instance', 'device'], card: 'group_left', include: ['fstype'] },
      }),
    )
    expect(parsePromQL('a * ignoring(cpu) group_right b')).toEqual(
      bin('*', a, metric('b', 30), {
        matching: { matchOn: 'ignoring', labels: ['cpu'], card: 'group_right', include: [] },
      }),
    )
    expect(parsePromQL('a + on() group_left() b')).toEqual(
      bin('+', a, metric('b', 22), {
        matching: { matchOn: 'on', labels: [], card: 'group_left', include: [] },
      }),
    )
    expect(parsePromQL('a and on (job) b')).toEqual(
      bin('and', a, metric('b', 15), { matching: { ...ONE_TO_ONE, matchOn: 'on', labels: ['job'] } }),
    )
  })

  it('rejects bad vector matching', () => {
    expect(errorOf('a and on (job) group_left b')).toBe(
      'parse error at char 16: no grouping allowed for "and" operation',
    )
    expect(errorOf('a * on (x) group_left (x) b')).toBe(
      'parse error at char 12: label "x" must not occur in ON and GROUP clause at once',
    )
    expect(errorOf('a * group_left b')).toBe('parse error at char 5: unexpected <group_left>')
    expect(errorOf('a * on b')).toBe(
      'parse error at char 8: unexpected identifier "b" in grouping opts, expected "("',
    )
  })

  it('refuses atan2 as unsupported', () => {
    expect(errorOf('a atan2 b')).toBe('the atan2 operator is not supported')
  })
})

describe('whitespace, comments and errors', () => {
  it('skips comments and whitespace', () => {
    expect(parsePromQL('# bits per second\nrate(x[5m]) # of x\n\t* 8 # end')).toEqual(
      bin('*', { kind: 'call', func: 'rate', args: [range(metric('x', 23), 300_000)], pos: 18 }, num(8, 40)),
    )
  })

  it('reports an empty query', () => {
    for (const query of ['', '   ', '# only a comment', '\n# a\n# b\n']) {
      expect(errorOf(query)).toBe('parse error at char 1: no expression found in input')
    }
  })

  it('reports unexpected tokens in Prometheus wording', () => {
    expect(errorOf('1 +')).toBe('parse error at char 4: unexpected end of input')
    expect(errorOf('a b')).toBe('parse error at char 3: unexpected identifier "b"')
    expect(errorOf('a 1')).toBe('parse error at char 3: unexpected number "1"')
    expect(errorOf('a)')).toBe("parse error at char 2: unexpected right parenthesis ')'")
    expect(errorOf('(a b)')).toBe(
      'parse error at char 4: unexpected identifier "b" in paren expression, expected ")"',
    )
    expect(errorOf('* a')).toBe('parse error at char 1: unexpected <op:*>')
    expect(errorOf('by')).toBe('parse error at char 1: unexpected <by>')
    expect(errorOf('a + and')).toBe('parse error at char 5: unexpected <op:and>')
    expect(errorOf('a = b')).toBe('parse error at char 3: unexpected <op:=>')
    expect(errorOf('sum(rate(x[5m])')).toBe('parse error at char 4: unclosed left parenthesis')
    expect(errorOf('((a)')).toBe('parse error at char 1: unclosed left parenthesis')
  })

  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(() => parsePromQL('('.repeat(499) + '1' + ')'.repeat(499))).not.toThrow()
    expect(() => parsePromQL('abs('.repeat(499) + 'x' + ')'.repeat(499))).not.toThrow()
    expect(() => parsePromQL('sum(rate('.repeat(249) + 'x[5m]' + '))'.repeat(249))).not.toThrow()
    expect(errorOf('('.repeat(5000) + '1' + ')'.repeat(5000))).toBe(
      'parse error at char 501: expression nested more than 500 levels deep',
    )
    expect(errorOf('-'.repeat(100_000) + '1')).toBe(
      'parse error at char 501: expression nested more than 500 levels deep',
    )
    expect(errorOf('a' + ' ^ a'.repeat(100_000))).toMatch(/expression nested more than 500 levels deep$/)
  })

  it('throws bad_data PromQLErrors, answered with 400', () => {
    try {
      parsePromQL('a +')
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(PromQLError)
      expect(err).toMatchObject({ type: 'bad_data', statusCode: 400 })
    }
  })
})

describe('Grafana Node Exporter Full queries', () => {
  it('CPU busy', () => {
    const q =
      '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle",instance="h1",job="node"}[5m])))'
    const cpu = metric('node_cpu_seconds_total', q.indexOf('node_cpu'), [
      m('mode', '=', 'idle'),
      m('instance', '=', 'h1'),
      m('job', '=', 'node'),
    ])
    const rate = call('rate', [range(cpu, 300_000)], q.indexOf('rate'))
    expect(parsePromQL(q)).toEqual(
      bin('*', num(100, 0), {
        kind: 'paren',
        expr: bin('-', num(1, 7), agg('avg', rate, q.indexOf('avg'), { labels: ['instance'] })),
        pos: 6,
      }),
    )
  })

  it('network receive bits', () => {
    const q = 'sum by (instance) (irate(node_network_receive_bytes_total{device!~"lo|veth.*"}[1m])) * 8'
    const bytes = metric('node_network_receive_bytes_total', q.indexOf('node_'), [
      m('device', '!~', 'lo|veth.*'),
    ])
    const irate = call('irate', [range(bytes, 60_000)], q.indexOf('irate'))
    expect(parsePromQL(q)).toEqual(
      bin('*', agg('sum', irate, 0, { labels: ['instance'] }), num(8, q.length - 1)),
    )
  })

  it('memory used', () => {
    const q = 'node_memory_MemTotal_bytes{instance="h1"} - node_memory_MemAvailable_bytes{instance="h1"}'
    expect(parsePromQL(q)).toEqual(
      bin(
        '-',
        metric('node_memory_MemTotal_bytes', 0, [m('instance', '=', 'h1')]),
        metric('node_memory_MemAvailable_bytes', q.indexOf('node_memory_MemAvailable'), [
          m('instance', '=', 'h1'),
        ]),
      ),
    )
  })

  it('filesystem used fraction', () => {
    const q = '1 - node_filesystem_avail_bytes{fstype!="tmpfs"} / node_filesystem_size_bytes{fstype!="tmpfs"}'
    const tmpfs = [m('fstype', '!=', 'tmpfs')]
    expect(parsePromQL(q)).toEqual(
      bin(
        '-',
        num(1, 0),
        bin(
          '/',
          metric('node_filesystem_avail_bytes', 4, tmpfs),
          metric('node_filesystem_size_bytes', q.indexOf('node_filesystem_size'), tmpfs),
        ),
      ),
    )
  })

  it('top disk readers', () => {
    const q = 'topk(5, sum by (instance) (rate(node_disk_read_bytes_total[5m])))'
    expect(parsePromQL(q)).toEqual(
      agg(
        'topk',
        agg(
          'sum',
          {
            kind: 'call',
            func: 'rate',
            args: [range(metric('node_disk_read_bytes_total', q.indexOf('node_'), []), 300_000)],
            pos: q.indexOf('rate'),
          },
          8,
          { labels: ['instance'] },
        ),
        0,
        { param: num(5, 5) },
      ),
    )
  })

  it('CPU pressure', () => {
    expect(parsePromQL('rate(node_pressure_cpu_waiting_seconds_total[1m])')).toEqual({
      kind: 'call',
      func: 'rate',
      args: [range(metric('node_pressure_cpu_waiting_seconds_total', 5), 60_000)],
      pos: 0,
    })
  })

  it('more dashboard panels parse', () => {
    for (const q of [
      'node_filesystem_size_bytes{instance="h1",job="node",device!~"rootfs"} - node_filesystem_avail_bytes{instance="h1",job="node",device!~"rootfs"}',
      '(1 - (node_memory_MemAvailable_bytes{instance="h1", job="node"} / node_memory_MemTotal_bytes{instance="h1", job="node"})) * 100',
      'count(count(node_cpu_seconds_total{instance="h1",job="node"}) by (cpu))',
      'scalar(node_load1{instance="h1",job="node"}) * 100 / count(count(node_cpu_seconds_total{instance="h1",job="node"}) by (cpu))',
      'node_time_seconds{instance="h1",job="node"} - node_boot_time_seconds{instance="h1",job="node"}',
      'irate(node_disk_io_time_seconds_total{instance="h1",job="node",device=~"(/dev/)?(mmcblk.p.+|nvme.+|rbd.+|sd.+|vd.+|xvd.+|dm-.+|md.+|dasd.+)"}[1m])',
      'node_network_up{operstate="up",instance="h1",job="node"} > 0',
      'max_over_time(node_load1[1h] offset 1d)',
    ]) {
      expect(() => parsePromQL(q)).not.toThrow()
    }
  })
})
