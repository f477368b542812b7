/**
 * The PromQL subset procstream evaluates, as a tree. The parser (parser.ts) builds it; the engine
 * (engine.ts) walks it. Positions are character offsets into the query, for error messages.
 */

export type MatchOp = '=' | '!=' | '=~' | '!~'

export interface LabelMatcher {
  name: string
  op: MatchOp
  value: string
}

/** `name{matchers}`; the name, when written, is also a `__name__ =` matcher in `matchers`. */
export interface VectorSelector {
  kind: 'vector'
  matchers: LabelMatcher[]
  /** Milliseconds; 0 without `offset`. */
  offsetMs: number
  pos: number
}

/** `selector[range]` */
export interface MatrixSelector {
  kind: 'matrix'
  selector: VectorSelector
  rangeMs: number
  pos: number
}

export interface NumberLiteral {
  kind: 'number'
  value: number
  pos: number
}

export interface StringLiteral {
  kind: 'string'
  value: string
  pos: number
}

export interface Call {
  kind: 'call'
  func: string
  args: Expr[]
  pos: number
}

export type AggregateOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'topk' | 'bottomk'

export interface Aggregate {
  kind: 'aggregate'
  op: AggregateOp
  /** topk/bottomk's k. */
  param: Expr | undefined
  expr: Expr
  /** `by (...)` → 'by', `without (...)` → 'without', neither → 'by' with no labels. */
  grouping: 'by' | 'without'
  labels: string[]
  pos: number
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^'
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<='
export type SetOp = 'and' | 'or' | 'unless'
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp

export interface VectorMatching {
  /** `on (...)` → 'on', `ignoring (...)` → 'ignoring'; neither written → 'ignoring' with no labels. */
  matchOn: 'on' | 'ignoring'
  labels: string[]
  /** `group_left (...)` / `group_right (...)`; 'one-to-one' without either. */
  card: 'one-to-one' | 'group_left' | 'group_right'
  /** The labels listed in group_left/group_right's parentheses. */
  include: string[]
}

export interface Binary {
  kind: 'binary'
  op: BinaryOp
  lhs: Expr
  rhs: Expr
  /** `bool` after a comparison operator. */
  returnBool: boolean
  matching: VectorMatching
  pos: number
}

export interface Unary {
  kind: 'unary'
  op: '-' | '+'
  expr: Expr
  pos: number
}

export interface Paren {
  kind: 'paren'
  expr: Expr
  pos: number
}

export type Expr =
  VectorSelector | MatrixSelector | NumberLiteral | StringLiteral | Call | Aggregate | Binary | Unary | Paren
