import type { Binary, BinaryOp, VectorMatching } from './ast.ts'
import { PromQLError } from './errors.ts'
import { dropLabels, keepOnly, labelsKey, withoutName, type Labels } from './labels.ts'
import { emptyValues, type Series } from './values.ts'

/** Binary operators, following Prometheus's engine.go: value rules, label rules and matching. */

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<='])

export function isComparison(op: BinaryOp): boolean {
  return COMPARISON.has(op)
}

/** `lhs op rhs` on two numbers; for a comparison, 1 or 0. */
export function apply(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r
    case '-':
      return l - r
    case '*':
      return l * r
    case '/':
      return l / r
    case '%':
      return l % r
    case '^':
      return Math.pow(l, r)
    case '==':
      return l === r ? 1 : 0
    case '!=':
      return l !== r ? 1 : 0
    case '>':
      return l > r ? 1 : 0
    case '<':
      return l < r ? 1 : 0
    case '>=':
      return l >= r ? 1 : 0
    case '<=':
      return l <= r ? 1 : 0
    default:
      throw new PromQLError('bad_data', `operator "${op}" is not defined between numbers`)
  }
}

/** Arithmetic and `bool` comparisons drop the metric name; plain comparisons filter and keep it. */
function dropsName(node: Binary): boolean {
  return !isComparison(node.op) || node.returnBool
}

export function scalarScalar(node: Binary, l: number[], r: number[]): number[] {
  if (isComparison(node.op) && !node.returnBool)
    throw new PromQLError('bad_data', 'comparisons between scalars must use BOOL modifier')
  return l.map((x, i) => apply(node.op, x, r[i] as number))
}

/** A vector and a scalar, either side; a comparison keeps the vector's own value where it holds. */
export function vectorScalar(
  node: Binary,
  vector: Series[],
  scalar: number[],
  scalarOnLeft: boolean,
): Series[] {
  const comparison = isComparison(node.op)
  return vector.map((s) => {
    const values = s.values.map((v, i) => {
      if (v === null) return null
      const x = scalar[i] as number
      const res = scalarOnLeft ? apply(node.op, x, v) : apply(node.op, v, x)
      if (!comparison || node.returnBool) return res
      return res === 1 ? v : null
    })
    return { labels: dropsName(node) ? withoutName(s.labels) : s.labels, values }
  })
}

function signature(labels: Labels, m: VectorMatching): string {
  return labelsKey(
    m.matchOn === 'on' ? keepOnly(labels, m.labels) : dropLabels(withoutName(labels), m.labels),
  )
}

function group(series: Series[], m: VectorMatching): Map<string, Series[]> {
  const out = new Map<string, Series[]>()
  for (const s of series) {
    const sig = signature(s.labels, m)
    const list = out.get(sig)
    if (list) list.push(s)
    else out.set(sig, [s])
  }
  return out
}

function presentAt(list: readonly Series[] | undefined, i: number): Series[] {
  return list ? list.filter((s) => s.values[i] !== null && s.values[i] !== undefined) : []
}

/** `and`, `or`, `unless`, time by time, on the matching signature. */
export function setOperation(node: Binary, lhs: Series[], rhs: Series[]): Series[] {
  const m = node.matching
  const rGroups = group(rhs, m)
  const lGroups = group(lhs, m)
  const keep = (s: Series, test: (i: number) => boolean): Series => ({
    labels: s.labels,
    values: s.values.map((v, i) => (v !== null && test(i) ? v : null)),
  })
  switch (node.op) {
    case 'and':
      return lhs.map((s) => keep(s, (i) => presentAt(rGroups.get(signature(s.labels, m)), i).length > 0))
    case 'unless':
      return lhs.map((s) => keep(s, (i) => presentAt(rGroups.get(signature(s.labels, m)), i).length === 0))
    default:
      return [
        ...lhs,
        ...rhs.map((s) => keep(s, (i) => presentAt(lGroups.get(signature(s.labels, m)), i).length === 0)),
      ]
  }
}

/** Two vectors under one-to-one, group_left or group_right matching. */
export function vectorVector(node: Binary, lhs: Series[], rhs: Series[], steps: number): Series[] {
  const m = node.matching
  const lGroups = group(lhs, m)
  const rGroups = group(rhs, m)
  const comparison = isComparison(node.op)
  const out = new Map<string, Series>()
  // The "many" side's labels make the result's; with one-to-one matching that is the left side.
  const manyIsRight = m.card === 'group_right'
  for (const [sig, lList] of lGroups) {
    const rList = rGroups.get(sig)
    if (!rList) continue
    for (let i = 0; i < steps; i++) {
      const ls = presentAt(lList, i)
      const rs = presentAt(rList, i)
      if (ls.length === 0 || rs.length === 0) continue
      const [many, one] = manyIsRight ? [rs, ls] : [ls, rs]
      if (one.length > 1)
        throw new PromQLError(
          'execution',
          `found duplicate series for the match group ${describe(sig)} on the ${manyIsRight ? 'left' : 'right'} hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side`,
        )
      if (m.card === 'one-to-one' && many.length > 1)
        throw new PromQLError(
          'execution',
          `found duplicate series for the match group ${describe(sig)} on the left hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side`,
        )
      const oneSide = one[0] as Series
      for (const manySide of many) {
        const [l, r] = manyIsRight ? [oneSide, manySide] : [manySide, oneSide]
        const lv = l.values[i] as number
        const rv = r.values[i] as number
        const res = apply(node.op, lv, rv)
        let value: number | null = res
        if (comparison && !node.returnBool) value = res === 1 ? lv : null
        if (value === null) continue
        const labels = resultLabels(node, manySide.labels, oneSide.labels)
        const key = labelsKey(labels)
        let s = out.get(key)
        if (!s) {
          s = { labels, values: emptyValues(steps) }
          out.set(key, s)
        }
        if (s.values[i] !== null)
          throw new PromQLError(
            'execution',
            'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
          )
        s.values[i] = value
      }
    }
  }
  return [...out.values()]
}

function resultLabels(node: Binary, many: Labels, one: Labels): Labels {
  const m = node.matching
  let labels = dropsName(node) ? withoutName(many) : many
  if (m.card === 'one-to-one') {
    labels = m.matchOn === 'on' ? keepOnly(labels, m.labels) : dropLabels(labels, m.labels)
    return labels
  }
  const copied: Labels = {}
  for (const name of m.include) {
    const v = one[name]
    if (v !== undefined && v !== '') copied[name] = v
  }
  return { ...dropLabels(labels, m.include), ...copied }
}

function describe(signatureKey: string): string {
  const pairs = signatureKey
    .split('\u0001')
    .filter((p) => p !== '')
    .map((p) => {
      const [k, v] = p.split('\u0000')
      return `${k ?? ''}=${JSON.stringify(v ?? '')}`
    })
  return `{${pairs.join(', ')}}`
}
