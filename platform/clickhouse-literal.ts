/**
 * A ClickHouse string literal of any text, as the engine's lexer reads it back: backslash and quote
 * escaped, control characters as `\xHH` so the statement stays one line and unambiguous. The one
 * place text is quoted into SQL; everything else goes as a bound parameter.
 */
export function clickHouseString(value: string): string {
  return `'${value
    .replace(/\\/g, '\\\\')
    .replace(/'/g, "\\'")
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is escaped
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`
}
