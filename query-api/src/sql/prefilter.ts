import type { BinOp, Expr } from './ast.ts'
import { allowedFunction } from './functions.ts'

/**
 * Conditions of a tenant's WHERE that the renderer also applies inside a scoped table's body, before
 * its join: on the tenant's series (metric, host, labels), so only the chosen series' ids are looked
 * up in `points` (sorted by series id), and on the rows read (ts, value; a tier's bucket), so the
 * read keeps to the range asked for. Without them a query on one metric over the last hour reads and
 * joins every value the tenant has (measured in query-api/README.md, "SQL").
 *
 * A copy, never a move: the user's WHERE stays where it was, so the answer is the same rows. The copy
 * sits in the body above the tenant-filtered read, in the same place the user's own WHERE sits above
 * a scoped table, so it sees no row of another tenant either. Only conditions that cannot depend on
 * anything but the row and constants, and cannot fail on a row, are copied:
 * - a top-level AND term of the WHERE of a SELECT whose FROM is one scoped table alone;
 * - built with AND, OR and NOT from comparisons (=, !=, <, >, <=, >=, [NOT] LIKE, [NOT] ILIKE),
 *   IN a list or an array, IS [NOT] NULL, startsWith, endsWith and JSONHas, each between a column
 *   (bare, or qualified by that table's name or alias; optionally under JSONExtractString, lower or
 *   upper) and constants: literals and allowed functions of literals, none random;
 * - whose columns are all names of the series, or all columns of the rows read, and none of them a
 *   name the query itself defines (an alias `x AS host` would make `host` mean something else).
 */
export interface PrefilterColumns {
  /** Columns that come from the series table. */
  names: readonly string[]
  /** Columns of the stored rows, usable before the body's join (and, for a tier, its GROUP BY). */
  rows: readonly string[]
}

export interface Prefilters {
  names: Expr[]
  rows: Expr[]
}

const COMPARISONS: ReadonlySet<BinOp> = new Set<BinOp>([
  '=',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  'LIKE',
  'NOT LIKE',
  'ILIKE',
  'NOT ILIKE',
])
/** Functions over a column that answer for any string, never throw, and keep the row's meaning. */
const SUBJECT_FUNCTIONS = new Set(['JSONExtractString', 'lower', 'upper'])
/** Boolean functions of a column and constants that never throw on a string. */
const PREDICATE_FUNCTIONS = new Set(['startsWith', 'endsWith', 'JSONHas'])
/** Allowed functions whose value is not fixed by their arguments within one query. */
const VOLATILE = new Set([
  'rand',
  'rand64',
  'randCanonical',
  'generateUUIDv4',
  'arrayJoin',
  'isConstant',
  'toColumnTypeName',
  'materialize',
  'ignore',
])

export function prefilters(
  where: Expr | undefined,
  table: string,
  columns: PrefilterColumns,
  defined: ReadonlySet<string>,
): Prefilters {
  const out: Prefilters = { names: [], rows: [] }
  if (where === undefined) return out
  const usable = new Set([...columns.names, ...columns.rows].filter((c) => !defined.has(c)))
  for (const term of conjuncts(where)) {
    const seen = new Set<string>()
    const check = new Check(table, usable, seen)
    if (!check.predicate(term) || seen.size === 0) continue
    const cols = [...seen]
    if (cols.every((c) => columns.names.includes(c))) out.names.push(bare(term))
    else if (cols.every((c) => columns.rows.includes(c))) out.rows.push(bare(term))
  }
  return out
}

function conjuncts(e: Expr): Expr[] {
  return e.k === 'bin' && e.op === 'AND' ? [...conjuncts(e.l), ...conjuncts(e.r)] : [e]
}

/** A copy of `e` with every column unqualified: inside the body the table is the only one in scope. */
function bare(e: Expr): Expr {
  const copy = structuredClone(e)
  const walk = (n: unknown): void => {
    if (n === null || typeof n !== 'object') return
    const o = n as Record<string, unknown>
    if (o.k === 'col' && Array.isArray(o.parts)) o.parts = [o.parts.at(-1)]
    for (const v of Object.values(o)) walk(v)
  }
  walk(copy)
  return copy
}

class Check {
  constructor(
    private readonly table: string,
    private readonly usable: ReadonlySet<string>,
    private readonly seen: Set<string>,
  ) {}

  predicate(e: Expr): boolean {
    switch (e.k) {
      case 'bin':
        if (e.op === 'AND' || e.op === 'OR') return this.predicate(e.l) && this.predicate(e.r)
        if (!COMPARISONS.has(e.op)) return false
        return (this.subject(e.l) && constant(e.r)) || (constant(e.l) && this.subject(e.r))
      case 'not':
        return this.predicate(e.e)
      case 'isNull':
        return this.subject(e.e)
      case 'in':
        if (e.r.k === 'list') return this.subject(e.e) && e.r.items.every(constant)
        if (e.r.k === 'expr') return this.subject(e.e) && constant(e.r.e)
        return false
      case 'fn': {
        const fn = plainFunction(e)
        if (fn === undefined || !PREDICATE_FUNCTIONS.has(fn)) return false
        const [first, ...rest] = e.args
        return first !== undefined && this.subject(first) && rest.every(constant)
      }
      default:
        return false
    }
  }

  private subject(e: Expr): boolean {
    if (e.k === 'col') {
      const name = e.parts.at(-1) as string
      const qualified = e.parts.length === 1 || (e.parts.length === 2 && e.parts[0] === this.table)
      if (!qualified || !this.usable.has(name)) return false
      this.seen.add(name)
      return true
    }
    if (e.k === 'fn') {
      const fn = plainFunction(e)
      const [first, ...rest] = e.args
      return (
        fn !== undefined &&
        SUBJECT_FUNCTIONS.has(fn) &&
        first !== undefined &&
        this.subject(first) &&
        rest.every(constant)
      )
    }
    return false
  }
}

/** The listed name of a plain scalar call (no DISTINCT, *, parameters or window), else undefined. */
function plainFunction(e: Extract<Expr, { k: 'fn' }>): string | undefined {
  if (e.distinct || e.star === true || e.params !== undefined || e.over !== undefined) return undefined
  const fn = allowedFunction(e.name)
  return fn === undefined || fn.aggregate ? undefined : fn.name
}

function constant(e: Expr): boolean {
  switch (e.k) {
    case 'num':
    case 'str':
    case 'null':
    case 'bool':
      return true
    case 'neg':
    case 'not':
      return constant(e.e)
    case 'bin':
      return constant(e.l) && constant(e.r)
    case 'array':
    case 'tuple':
      return e.items.every(constant)
    case 'index':
      return constant(e.e) && constant(e.i)
    case 'element':
      return constant(e.e)
    case 'fn': {
      const fn = plainFunction(e)
      return fn !== undefined && !VOLATILE.has(fn) && e.args.every(constant)
    }
    default:
      return false
  }
}
