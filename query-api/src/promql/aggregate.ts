import type { Aggregate } from './ast.ts'
import { PromQLError } from './errors.ts'
import { dropLabels, keepOnly, labelsKey, withoutName, type Labels } from './labels.ts'
import { emptyValues, type Series } from './values.ts'

/** `sum avg min max count topk bottomk` with `by`/`without`, at every evaluation time. */
export function aggregate(
  node: Aggregate,
  input: Series[],
  steps: number,
  k: number[] | undefined,
): Series[] {
  const groupLabels = (l: Labels): Labels =>
    node.grouping === 'by' ? keepOnly(l, node.labels) : dropLabels(withoutName(l), node.labels)
  const groups = new Map<string, { labels: Labels; members: Series[] }>()
  for (const s of input) {
    const labels = groupLabels(s.labels)
    const key = labelsKey(labels)
    let g = groups.get(key)
    if (!g) {
      g = { labels, members: [] }
      groups.set(key, g)
    }
    g.members.push(s)
  }
  if (node.op === 'topk' || node.op === 'bottomk')
    return selectK(node.op, [...groups.values()], steps, k ?? [])
  const out: Series[] = []
  for (const g of groups.values()) {
    const values = emptyValues(steps)
    for (let i = 0; i < steps; i++) {
      let count = 0
      let acc = 0
      for (const m of g.members) {
        const v = m.values[i]
        if (v === null || v === undefined) continue
        if (count === 0) acc = node.op === 'count' ? 1 : v
        else {
          switch (node.op) {
            case 'sum':
            case 'avg':
              acc += v
              break
            case 'count':
              acc += 1
              break
            case 'min':
              // Prometheus lets a number beat NaN in min and max.
              if (v < acc || Number.isNaN(acc)) acc = v
              break
            case 'max':
              if (v > acc || Number.isNaN(acc)) acc = v
              break
          }
        }
        count++
      }
      if (count > 0) values[i] = node.op === 'avg' ? acc / count : acc
    }
    out.push({ labels: g.labels, values })
  }
  return out
}

/** The k largest (smallest) series of each group at each time, with their own labels. */
function selectK(
  op: 'topk' | 'bottomk',
  groups: { members: Series[] }[],
  steps: number,
  k: number[],
): Series[] {
  const out = new Map<Series, Series>()
  for (let i = 0; i < steps; i++) {
    const param = k[i] ?? Number.NaN
    if (Number.isNaN(param)) throw new PromQLError('execution', `${op}'s parameter k is NaN`)
    const want = Math.floor(param)
    if (want < 1) continue
    for (const g of groups) {
      const present = g.members.filter((m) => m.values[i] !== null && m.values[i] !== undefined)
      // NaN sorts last either way, as Prometheus keeps it out of the top while numbers remain.
      present.sort((a, b) => {
        const x = a.values[i] as number
        const y = b.values[i] as number
        if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1
        if (Number.isNaN(y)) return -1
        return op === 'topk' ? y - x : x - y
      })
      for (const m of present.slice(0, want)) {
        let s = out.get(m)
        if (!s) {
          s = { labels: m.labels, values: emptyValues(steps) }
          out.set(m, s)
        }
        s.values[i] = m.values[i] ?? null
      }
    }
  }
  return [...out.values()]
}
