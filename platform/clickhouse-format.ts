/**
 * What to check of a text before handing it to ClickHouse's own parser and formatter
 * (`formatQuerySingleLine({q:String})`), which tenant SQL and the storage server use to prove a text
 * is one statement without running it.
 *
 * The formatter is not linear in its input: the parser turns `x BETWEEN a AND b` into
 * `x >= a AND x <= b` with `x` shared, and the formatter writes `x` out twice, so BETWEENs nested in
 * each other's operand double the output per level. Measured on chdb 3.4: 20 nested levels (a query of
 * about 350 characters) formatted to 23 MB in 2 s; 26 levels took 75 s and 2.4 GB, and neither
 * max_memory_usage nor max_execution_time stopped it. No other construct tried (CASE, IN, LIKE …
 * ESCAPE, EXTRACT, IS NOT DISTINCT FROM, INTERVAL, casts, lambdas, tuples) grows like that.
 */

/** BETWEENs per text at most: 2^8 copies of a 64 KiB text at worst, a few MB for the formatter. */
export const MAX_BETWEEN = 8

/**
 * Why the text may not go to the formatter, or undefined. Counts the word wherever it stands
 * (strings, comments and names too): an upper bound on the BETWEEN operators, which the count can
 * only overstate, so no real one is ever missed by lexing differently from the engine.
 */
export function formatterHazard(text: string): string | undefined {
  const count = text.match(/between/gi)?.length ?? 0
  if (count <= MAX_BETWEEN) return undefined
  return (
    `the word BETWEEN appears ${String(count)} times; at most ${String(MAX_BETWEEN)} are accepted ` +
    '(the engine copies the operand of each BETWEEN, so nested ones grow exponentially): write x >= a AND x <= b'
  )
}
