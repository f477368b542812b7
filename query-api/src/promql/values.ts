import { PromQLError } from './errors.ts'
import { compareLabels, labelsKey, type Labels } from './labels.ts'

/**
 * What an expression evaluates to over all the evaluation times of a query at once: a scalar is one
 * value per time; an instant vector is a set of series, each with a value or null (no sample) per time.
 */
export interface Series {
  labels: Labels
  values: (number | null)[]
}

export type Value =
  | { kind: 'scalar'; values: number[] }
  | { kind: 'vector'; series: Series[] }
  | { kind: 'string'; value: string }

export function emptyValues(n: number): (number | null)[] {
  return new Array<number | null>(n).fill(null)
}

/**
 * Series with equal label sets become one (operations that drop labels produce such pairs); two that
 * both have a value at one time are an error, as Prometheus's "same labelset" check. Series without
 * any value go, and the rest are ordered by labels, as Prometheus orders a range query's result.
 */
export function mergeByLabels(series: Series[]): Series[] {
  const byKey = new Map<string, Series>()
  for (const s of series) {
    const key = labelsKey(s.labels)
    const have = byKey.get(key)
    if (!have) {
      byKey.set(key, { labels: s.labels, values: s.values.slice() })
      continue
    }
    for (let i = 0; i < s.values.length; i++) {
      const v = s.values[i]
      if (v === null || v === undefined) continue
      if (have.values[i] !== null)
        throw new PromQLError('execution', 'vector cannot contain metrics with the same labelset')
      have.values[i] = v
    }
  }
  return [...byKey.values()]
    .filter((s) => s.values.some((v) => v !== null))
    .sort((a, b) => compareLabels(a.labels, b.labels))
}

export function typeName(v: Value): string {
  return v.kind === 'vector' ? 'instant vector' : v.kind
}
