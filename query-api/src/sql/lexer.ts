import { SqlRejected } from './errors.ts'

/**
 * Tokens of ClickHouse's canonical single-line SQL (what `formatQuerySingleLine` prints): no
 * comments, strings in single quotes with backslash escapes, identifiers bare or in backticks.
 * Anything else (query parameters `{p:T}`, heredocs, `$$` strings…) is refused by name.
 */
export type Token =
  | { t: 'word'; v: string; pos: number }
  | { t: 'ident'; v: string; pos: number }
  | { t: 'num'; v: string; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'op'; v: string; pos: number }
  | { t: 'end'; v: ''; pos: number }

const OPS = [
  '->',
  '<=',
  '>=',
  '!=',
  '<>',
  '==',
  '||',
  '::',
  '(',
  ')',
  '[',
  ']',
  ',',
  '.',
  '+',
  '-',
  '*',
  '/',
  '%',
  '=',
  '<',
  '>',
  '?',
  ':',
]
const WORD = /[A-Za-z_][A-Za-z0-9_$]*/y
// Decimal with optional fraction and exponent, or hex / binary integers: all the engine prints.
const NUMBER = /(?:0[xX][0-9A-Fa-f]+|0[bB][01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?![A-Za-z0-9_])/y

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  b: '\b',
  f: '\f',
  a: '\x07',
  v: '\v',
  e: '\x1b',
}

/** The value of a quoted string or identifier starting at `start` (the quote), and where it ends. */
function quoted(text: string, start: number, quote: string): { value: string; end: number } {
  let out = ''
  let i = start + 1
  while (i < text.length) {
    const c = text[i] as string
    if (c === '\\') {
      const n = text[i + 1]
      if (n === undefined) break
      if (n === 'x' || n === 'X') {
        const hex = text.slice(i + 2, i + 4)
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new SqlRejected(`a bad \\x escape at position ${i}`)
        const code = parseInt(hex, 16)
        // A byte above 0x7f would be half of a UTF-8 sequence; the answer and the engine speak UTF-8.
        if (code > 0x7f)
          throw new SqlRejected(`a \\x escape above \\x7F at position ${i}: write the character itself`)
        out += String.fromCharCode(code)
        i += 4
        continue
      }
      out += ESCAPES[n] ?? n
      i += 2
      continue
    }
    if (c === quote) {
      if (text[i + 1] === quote) {
        out += quote
        i += 2
        continue
      }
      return { value: out, end: i + 1 }
    }
    out += c
    i++
  }
  throw new SqlRejected(
    `an unterminated ${quote === "'" ? 'string' : 'quoted identifier'} at position ${start}`,
  )
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const c = text[i] as string
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r') {
      i++
      continue
    }
    if (c === "'") {
      const { value, end } = quoted(text, i, "'")
      tokens.push({ t: 'str', v: value, pos: i })
      i = end
      continue
    }
    if (c === '`' || c === '"') {
      const { value, end } = quoted(text, i, c)
      tokens.push({ t: 'ident', v: value, pos: i })
      i = end
      continue
    }
    NUMBER.lastIndex = i
    const num = NUMBER.exec(text)
    if (num && /[0-9.]/.test(c) && !(c === '.' && !/[0-9]/.test(text[i + 1] ?? ''))) {
      // `t.1` is tuple element 1 of t, not the number .1: a dot right after a name or `)` is an operator.
      const prev = tokens.at(-1)
      const afterName =
        c === '.' &&
        prev !== undefined &&
        (prev.t === 'word' || prev.t === 'ident' || prev.v === ')' || prev.v === ']')
      if (!afterName) {
        tokens.push({ t: 'num', v: num[0], pos: i })
        i += num[0].length
        continue
      }
    }
    WORD.lastIndex = i
    const word = WORD.exec(text)
    if (word) {
      tokens.push({ t: 'word', v: word[0], pos: i })
      i += word[0].length
      continue
    }
    const op = OPS.find((o) => text.startsWith(o, i))
    if (op !== undefined) {
      tokens.push({ t: 'op', v: op, pos: i })
      i += op.length
      continue
    }
    if (c === '{') throw new SqlRejected(`query parameters ({name:Type}) are not accepted (position ${i})`)
    throw new SqlRejected(`unexpected character ${JSON.stringify(c)} at position ${i}`)
  }
  tokens.push({ t: 'end', v: '', pos: text.length })
  return tokens
}
