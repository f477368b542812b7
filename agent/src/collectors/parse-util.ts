/**
 * Shared pieces of the /proc parsers. A parser never throws on bad input: it skips what it cannot
 * read and tells the caller through a ProblemHandler, so the agent can count parse errors and log
 * one rate-limited line instead of losing the whole sample.
 */
export type ProblemHandler = (problem: string) => void

const MINUS = 45
const ZERO = 48
const NINE = 57
const LONGEST_EXCERPT = 80

/**
 * A decimal integer as the kernel prints it, or undefined. Stricter than Number(): '', '0x10',
 * '1e3' and ' 7' are not counters. Values beyond 2^53 are refused because an Avro long travels as
 * a JS number here and would lose its low digits silently.
 */
export function parseInteger(token: string): number | undefined {
  const length = token.length
  let i = 0
  let negative = false
  if (length > 0 && token.charCodeAt(0) === MINUS) {
    negative = true
    i = 1
  }
  if (i === length) return undefined
  let value = 0
  for (; i < length; i++) {
    const c = token.charCodeAt(i)
    if (c < ZERO || c > NINE) return undefined
    value = value * 10 + (c - ZERO)
  }
  if (value > Number.MAX_SAFE_INTEGER) return undefined
  return negative ? -value : value
}

const DECIMAL = /^-?\d+(?:\.\d+)?$/

/** A plain decimal fraction such as loadavg's `0.19`, or undefined. */
export function parseDecimal(token: string): number | undefined {
  return DECIMAL.test(token) ? Number(token) : undefined
}

const SPACE = 32

/**
 * Whitespace-separated tokens of text[start, end), without regular expressions: /proc is read
 * several times a second and this runs on every line.
 */
export function tokenize(text: string, start = 0, end = text.length): string[] {
  const tokens: string[] = []
  let i = start
  while (i < end) {
    while (i < end && text.charCodeAt(i) <= SPACE) i++
    if (i === end) break
    const from = i
    while (i < end && text.charCodeAt(i) > SPACE) i++
    tokens.push(text.slice(from, i))
  }
  return tokens
}

/** Index just past the first token at or after start (leading whitespace skipped), or end. */
export function tokenEnd(text: string, start: number, end: number): number {
  let i = start
  while (i < end && text.charCodeAt(i) <= SPACE) i++
  while (i < end && text.charCodeAt(i) > SPACE) i++
  return i
}

/** indexOf bounded to text[start, end), so a line without the character costs only its own length. */
export function indexIn(text: string, char: string, start: number, end: number): number {
  const code = char.charCodeAt(0)
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === code) return i
  return -1
}

/** Whether text[start, end) holds nothing but whitespace. */
export function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) > SPACE) return false
  return true
}

/** Calls back with [start, end) of every line, the final newline's empty remainder left out. */
export function forEachLine(text: string, visit: (start: number, end: number) => void): void {
  let start = 0
  while (start < text.length) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    visit(start, end)
    start = end + 1
  }
}

/** A line quoted in a problem report, cut short so garbage input cannot flood the log. */
export function excerpt(line: string): string {
  const shown = line.length > LONGEST_EXCERPT ? `${line.slice(0, LONGEST_EXCERPT)}…` : line
  return JSON.stringify(shown)
}

/** RegExp.test without the lastIndex state a /g or /y flag would carry between calls. */
export function matches(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0
  return pattern.test(text)
}
