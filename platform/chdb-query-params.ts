import { clickHouseString } from './clickhouse-literal.ts'

/**
 * A read's bound parameters written into its text as typed literals, for embedded chdb only.
 *
 * Why: chdb-node 3.4 runs every statement that has bound parameters one at a time across the whole
 * process (libchdb sets and resets the parameters of a call on state that is not per session, so it
 * chains them on one promise), while statements without parameters run at once on the sessions of
 * the pool. Every dashboard and Prometheus read has parameters, so a dashboard's panels, the fleet
 * view and the processors' lookups queued behind each other, whatever the number of sessions.
 *
 * Written the way the engine itself substitutes a parameter (ReplaceQueryParameterVisitor: the value
 * parsed as its declared type, then a cast of that literal to the type), so the statement means the
 * same. Only what is known exactly is written: a placeholder of another type, a value of the wrong
 * shape, or a text this scanner cannot read with certainty (comments, heredocs, an unterminated
 * quote) returns undefined, and the caller binds as before. A value only ever becomes a quoted string
 * literal or a number this function printed itself, so no value can change the statement's shape.
 */
export function inlineQueryParams(sql: string, params: Record<string, unknown>): string | undefined {
  let out = ''
  let from = 0
  let i = 0
  while (i < sql.length) {
    const c = sql[i]
    if (c === "'" || c === '"' || c === '`') {
      const end = quotedEnd(sql, i)
      if (end < 0) return undefined
      i = end
      continue
    }
    // Comments and heredocs could hold quotes this scanner would read differently from the engine.
    if (c === '#' || c === '$' || (c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '*'))
      return undefined
    if (c === '{') {
      const m = PLACEHOLDER.exec(sql.slice(i, i + 200))
      if (!m) return undefined
      const [whole, name = '', type = ''] = m
      if (!Object.hasOwn(params, name)) return undefined
      const literal = typedLiteral(type, params[name])
      if (literal === undefined) return undefined
      out += sql.slice(from, i) + literal
      i += whole.length
      from = i
      continue
    }
    i++
  }
  return out + sql.slice(from)
}

/** `{name:Type}` as the engine's parser reads a query parameter, for the types written below. */
const PLACEHOLDER = /^\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([A-Za-z0-9_()]+)\s*\}/

/** The index just past the quoted string or name that starts at `start`, or -1 if it never ends. */
function quotedEnd(sql: string, start: number): number {
  const q = sql[start]
  let i = start + 1
  while (i < sql.length) {
    const c = sql[i]
    if (c === '\\') i += 2
    else if (c === q && sql[i + 1] === q) i += 2
    else if (c === q) return i + 1
    else i++
  }
  return -1
}

const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  UInt8: [0n, 255n],
  UInt16: [0n, 65_535n],
  UInt32: [0n, 4_294_967_295n],
  UInt64: [0n, 18_446_744_073_709_551_615n],
  Int8: [-128n, 127n],
  Int16: [-32_768n, 32_767n],
  Int32: [-2_147_483_648n, 2_147_483_647n],
  Int64: [-9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n],
}

const DATE = /^\d{4}-\d{2}-\d{2}$/

/** A literal of `type` holding `value`, cast to the type as the engine casts a bound one; or undefined. */
function typedLiteral(type: string, value: unknown): string | undefined {
  const array = /^Array\((\w+)\)$/.exec(type)
  if (array) {
    if (!Array.isArray(value)) return undefined
    const items: string[] = []
    for (const v of value) {
      const item = plainLiteral(array[1] ?? '', v)
      if (item === undefined) return undefined
      items.push(item)
    }
    return `CAST([${items.join(', ')}] AS ${type})`
  }
  const literal = plainLiteral(type, value)
  return literal === undefined ? undefined : `CAST(${literal} AS ${type})`
}

function plainLiteral(type: string, value: unknown): string | undefined {
  if (type === 'String') return typeof value === 'string' ? clickHouseString(value) : undefined
  if (type === 'Date') return typeof value === 'string' && DATE.test(value) ? `'${value}'` : undefined
  if (type === 'Float64')
    return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined
  const range = INTEGER_RANGES[type]
  if (!range) return undefined
  let n: bigint
  if (typeof value === 'bigint') n = value
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value)
  else if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) n = BigInt(value)
  else return undefined
  return n >= range[0] && n <= range[1] ? n.toString() : undefined
}
