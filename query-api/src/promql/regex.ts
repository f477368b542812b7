/**
 * A PromQL regular expression as a JS RegExp: fully anchored, `.` matching newlines, and RE2's
 * leading `(?i)` (common in Grafana variables) turned into JS's `i` flag. ClickHouse evaluates the
 * same text with RE2 itself; this is for matching done here and for early syntax errors.
 */
export function promRegExp(value: string): RegExp {
  const insensitive = value.startsWith('(?i)')
  const source = insensitive ? value.slice(4) : value
  return new RegExp(`^(?:${source})$`, insensitive ? 'si' : 's')
}
