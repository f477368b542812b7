/**
 * PromQL tokens, scanned on demand so that the first error in the text is the one reported, as
 * Prometheus's own lexer does. Error messages follow Prometheus's wording.
 */
import { parseDuration } from './duration.ts'
import { parseError } from './errors.ts'

export type Token =
  | { kind: 'ident' | 'punct' | 'eof'; text: string; pos: number }
  | { kind: 'number'; text: string; pos: number; value: number }
  | { kind: 'duration'; text: string; pos: number; ms: number }
  /** `text` keeps the quotes and escapes; `value` is the decoded string. */
  | { kind: 'string'; text: string; pos: number; value: string }

const NUMBER = /0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y
// What a number runs on into when it is glued to letters: `5m`, `1h30m`, or junk like `1.5m` or `5mb`.
const NUMBER_WORD = /[0-9a-zA-Z_.]+/y
const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/y
// Inside braces only label names occur, and those have no colons.
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y
// Grafana sometimes sends `$__rate_interval` or `${job}` unexpanded; naming it makes the error obvious.
const TEMPLATE_VARIABLE = /\$(?:\{[^}\s]*\}|\w+)/y

const TWO_CHAR = new Set(['==', '!=', '<=', '>=', '=~', '!~'])
const ONE_CHAR = new Set('+-*/%^=<>(){}[],:@')

const SIMPLE_ESCAPES = new Map([
  ['a', '\x07'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
  ['v', '\v'],
  ['\\', '\\'],
])

interface NumericEscape {
  digits: number
  base: number
  max: number
  /** Go's `\x` and octal escapes are raw bytes, not code points. */
  byte: boolean
}
const OCTAL_ESCAPE: NumericEscape = { digits: 3, base: 8, max: 255, byte: true }
const NUMERIC_ESCAPES = new Map<string, NumericEscape>([
  ['x', { digits: 2, base: 16, max: 255, byte: true }],
  ['u', { digits: 4, base: 16, max: 0x10ffff, byte: false }],
  ['U', { digits: 8, base: 16, max: 0x10ffff, byte: false }],
])

export class Lexer {
  private pos = 0
  private readonly openParens: number[] = []
  private bracketOpen = false
  private braceOpen = false
  private lookahead: Token | undefined

  constructor(private readonly src: string) {}

  peek(): Token {
    this.lookahead ??= this.scan()
    return this.lookahead
  }

  next(): Token {
    const token = this.peek()
    this.lookahead = undefined
    return token
  }

  private scan(): Token {
    this.skipSpaceAndComments()
    const start = this.pos
    const ch = this.src.charAt(start)
    if (ch === '') return this.end()
    if (ch === '"' || ch === "'") return this.quoted(ch)
    if (ch === '`') return this.raw()
    if (this.braceOpen) return this.insideBraces(ch)
    if (isDigit(ch) || (ch === '.' && isDigit(this.src.charAt(start + 1)))) return this.numberOrDuration()
    // Inside `[...]` a colon separates a subquery's range from its step; it cannot start a name there.
    if (/[a-zA-Z_]/.test(ch) || (ch === ':' && !this.bracketOpen)) return this.word(IDENTIFIER)
    return this.operator(ch)
  }

  private skipSpaceAndComments(): void {
    for (;;) {
      const ch = this.src.charAt(this.pos)
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
        this.pos++
      } else if (ch === '#') {
        const newline = this.src.indexOf('\n', this.pos)
        this.pos = newline < 0 ? this.src.length : newline
      } else {
        return
      }
    }
  }

  private end(): Token {
    const paren = this.openParens.at(-1)
    if (paren !== undefined) throw parseError(paren, 'unclosed left parenthesis')
    if (this.bracketOpen) throw parseError(this.pos, 'unclosed left bracket')
    if (this.braceOpen) throw parseError(this.pos, 'unexpected end of input inside braces')
    return { kind: 'eof', text: '', pos: this.pos }
  }

  private word(pattern: RegExp): Token {
    const start = this.pos
    const text = matchAt(pattern, this.src, start) ?? ''
    this.pos += text.length
    return { kind: 'ident', text, pos: start }
  }

  private operator(ch: string): Token {
    const start = this.pos
    const two = this.src.slice(start, start + 2)
    const text = TWO_CHAR.has(two) ? two : ONE_CHAR.has(ch) ? ch : undefined
    if (text === undefined) throw this.badCharacter('unexpected character')
    switch (text) {
      case '(':
        this.openParens.push(start)
        break
      case ')':
        if (this.openParens.pop() === undefined) throw parseError(start, "unexpected right parenthesis ')'")
        break
      case '[':
        if (this.bracketOpen) throw parseError(start, "unexpected left bracket '['")
        this.bracketOpen = true
        break
      case ']':
        if (!this.bracketOpen) throw parseError(start, "unexpected right bracket ']'")
        this.bracketOpen = false
        break
      case '{':
        this.braceOpen = true
        break
      case '}':
        throw parseError(start, "unexpected right brace '}'")
    }
    this.pos += text.length
    return { kind: 'punct', text, pos: start }
  }

  private insideBraces(ch: string): Token {
    const start = this.pos
    if (/[a-zA-Z_]/.test(ch)) return this.word(LABEL_NAME)
    const two = this.src.slice(start, start + 2)
    const text = two === '=~' || two === '!=' || two === '!~' ? two : '=,}'.includes(ch) ? ch : undefined
    if (text === undefined) {
      if (ch === '{') throw parseError(start, "unexpected left brace '{'")
      throw this.badCharacter('unexpected character inside braces')
    }
    if (text === '}') this.braceOpen = false
    this.pos += text.length
    return { kind: 'punct', text, pos: start }
  }

  private numberOrDuration(): Token {
    const start = this.pos
    const number = matchAt(NUMBER, this.src, start) ?? ''
    if (!/[0-9a-zA-Z_.]/.test(this.src.charAt(start + number.length))) {
      this.pos += number.length
      return { kind: 'number', text: number, pos: start, value: numberValue(number) }
    }
    const word = matchAt(NUMBER_WORD, this.src, start) ?? ''
    const ms = /^\d+$/.test(number) ? durationOrUndefined(word) : undefined
    if (ms === undefined) throw parseError(start, `bad number or duration syntax: "${word}"`)
    this.pos += word.length
    return { kind: 'duration', text: word, pos: start, ms }
  }

  private raw(): Token {
    const start = this.pos
    const close = this.src.indexOf('`', start + 1)
    if (close < 0) throw parseError(start, 'unterminated raw string')
    this.pos = close + 1
    return {
      kind: 'string',
      text: this.src.slice(start, this.pos),
      pos: start,
      value: this.src.slice(start + 1, close),
    }
  }

  private quoted(quote: string): Token {
    const start = this.pos
    const src = this.src
    let i = start + 1
    let value = ''
    // Escaped bytes wait here so that a run like `\xc3\xa9` decodes, as in Go, to one "é".
    const bytes: number[] = []
    const flush = (): void => {
      if (bytes.length === 0) return
      value += Buffer.from(bytes).toString('utf8')
      bytes.length = 0
    }
    for (;;) {
      const ch = src.charAt(i)
      if (ch === '' || ch === '\n') throw parseError(start, 'unterminated quoted string')
      if (ch === quote) break
      if (ch !== '\\') {
        flush()
        value += ch
        i++
        continue
      }
      const escape = src.charAt(i + 1)
      if (escape === '') throw parseError(i, 'escape sequence not terminated')
      const simple = escape === quote ? quote : SIMPLE_ESCAPES.get(escape)
      if (simple !== undefined) {
        flush()
        value += simple
        i += 2
        continue
      }
      const isOctal = escape >= '0' && escape <= '7'
      const spec = isOctal ? OCTAL_ESCAPE : NUMERIC_ESCAPES.get(escape)
      if (spec === undefined) throw parseError(i, `unknown escape sequence ${goRune(escape)}`)
      const digitsAt = isOctal ? i + 1 : i + 2
      const digits = src.slice(digitsAt, digitsAt + spec.digits)
      for (const digit of digits) {
        const d = parseInt(digit, 16)
        if (Number.isNaN(d) || d >= spec.base)
          throw parseError(i, `illegal character ${goRune(digit)} in escape sequence`)
      }
      if (digits.length < spec.digits) throw parseError(i, 'escape sequence not terminated')
      const code = parseInt(digits, spec.base)
      if (code > spec.max || (code >= 0xd800 && code < 0xe000)) {
        throw parseError(i, 'escape sequence is an invalid Unicode code point')
      }
      if (spec.byte) {
        bytes.push(code)
      } else {
        flush()
        value += String.fromCodePoint(code)
      }
      i = digitsAt + spec.digits
    }
    flush()
    this.pos = i + 1
    return { kind: 'string', text: src.slice(start, this.pos), pos: start, value }
  }

  private badCharacter(what: string): Error {
    const ch = String.fromCodePoint(this.src.codePointAt(this.pos) ?? 0)
    const variable = matchAt(TEMPLATE_VARIABLE, this.src, this.pos)
    const hint = variable === undefined ? '' : ` ("${variable}" looks like an unexpanded template variable)`
    return parseError(this.pos, `${what}: ${quoteRune(ch)}${hint}`)
  }
}

function matchAt(pattern: RegExp, src: string, pos: number): string | undefined {
  pattern.lastIndex = pos
  return pattern.exec(src)?.[0]
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9'
}

function numberValue(text: string): number {
  if (/^0[xX]/.test(text)) return parseInt(text.slice(2), 16)
  // Prometheus reads integers with Go's base prefixes, so a leading zero means octal: `010` is 8.
  if (/^0[0-7]+$/.test(text)) return parseInt(text, 8)
  return Number(text)
}

function durationOrUndefined(text: string): number | undefined {
  try {
    return parseDuration(text)
  } catch {
    return undefined
  }
}

/** Go's `%q` for a rune, which is how Prometheus quotes a bad character. */
function quoteRune(ch: string): string {
  const code = ch.codePointAt(0) ?? 0
  if (ch === "'" || ch === '\\') return `'\\${ch}'`
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`
  return `'${ch}'`
}

/** Go's `%#U`, as in Prometheus's escape errors: `U+0071 'q'`. */
function goRune(ch: string): string {
  const code = ch.codePointAt(0) ?? 0
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')} ${quoteRune(ch)}`
}
