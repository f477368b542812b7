/**
 * The part of ClickHouse's SELECT that tenant SQL may use, as data. The parser builds it from the
 * engine's canonical text, the checker walks it, and the renderer turns it back into SQL: the engine
 * only ever runs text rendered from this tree, so what the tree cannot express cannot run.
 */
export interface Query {
  ctes: Cte[]
  /** One SELECT, or several joined by set operators (left to right). */
  first: SelectTerm
  rest: { op: SetOp; term: SelectTerm }[]
}

export type SetOp =
  'UNION ALL' | 'UNION DISTINCT' | 'EXCEPT ALL' | 'EXCEPT DISTINCT' | 'INTERSECT ALL' | 'INTERSECT DISTINCT'

export type SelectTerm = { k: 'select'; s: Select } | { k: 'paren'; q: Query }

/** `WITH name AS (subquery)` or `WITH expr AS name`. */
export type Cte = { k: 'table'; name: string; q: Query } | { k: 'expr'; name: string; e: Expr }

export interface Select {
  distinct: boolean
  items: SelectItem[]
  from: FromItem[]
  where?: Expr | undefined
  groupBy?: { all: true } | { all: false; exprs: Expr[] } | undefined
  having?: Expr | undefined
  orderBy: OrderItem[]
  limit?: { count: bigint; offset: bigint } | undefined
}

export type SelectItem =
  { k: 'star'; table?: string | undefined } | { k: 'expr'; e: Expr; alias?: string | undefined }

export interface OrderItem {
  e: Expr
  desc: boolean
  nulls?: 'FIRST' | 'LAST' | undefined
  collate?: string | undefined
}

export interface TableExpr {
  source: { k: 'name'; name: string } | { k: 'subquery'; q: Query }
  alias?: string | undefined
}

/** The first FROM item has no join; every later one says how it joins. */
export interface FromItem {
  table: TableExpr
  join?: Join | undefined
}

export interface Join {
  /** `CROSS` also for a comma. */
  kind: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS'
  strictness?: 'ANY' | 'ALL' | 'SEMI' | 'ANTI' | 'ASOF' | undefined
  on?: Expr | undefined
  using?: string[] | undefined
}

export interface Window {
  partitionBy: Expr[]
  orderBy: OrderItem[]
  frame?: { unit: 'ROWS' | 'RANGE'; start: FrameBound; end: FrameBound } | undefined
}

export type FrameBound =
  | { k: 'unbounded'; dir: 'PRECEDING' | 'FOLLOWING' }
  | { k: 'current' }
  | { k: 'offset'; n: bigint; dir: 'PRECEDING' | 'FOLLOWING' }

export type Expr =
  | { k: 'num'; v: string }
  | { k: 'str'; v: string }
  | { k: 'null' }
  | { k: 'bool'; v: boolean }
  | { k: 'col'; parts: string[] }
  | {
      k: 'fn'
      name: string
      params?: Expr[] | undefined
      args: Expr[]
      distinct: boolean
      over?: Window | undefined
      star?: boolean
    }
  | { k: 'bin'; op: BinOp; l: Expr; r: Expr }
  | { k: 'neg'; e: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'isNull'; e: Expr; not: boolean }
  | {
      k: 'in'
      e: Expr
      not: boolean
      r: { k: 'list'; items: Expr[] } | { k: 'query'; q: Query } | { k: 'expr'; e: Expr }
    }
  | { k: 'lambda'; params: string[]; body: Expr }
  | { k: 'array'; items: Expr[] }
  | { k: 'tuple'; items: Expr[] }
  | { k: 'index'; e: Expr; i: Expr }
  | { k: 'element'; e: Expr; n: string }
  | { k: 'subquery'; q: Query }

export type BinOp =
  | 'OR'
  | 'AND'
  | '='
  | '!='
  | '<'
  | '>'
  | '<='
  | '>='
  | 'LIKE'
  | 'NOT LIKE'
  | 'ILIKE'
  | 'NOT ILIKE'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
