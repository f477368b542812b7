import type { Labels } from './labels.ts'
import type { Series, Value } from './values.ts'

/**
 * Prometheus's JSON shapes: sample values as strings in Go's shortest 'f' form (no exponent),
 * timestamps as seconds.
 */
export function formatSampleValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  const s = String(v)
  const e = s.indexOf('e')
  if (e < 0) return s
  // JS switches to exponent form outside [1e-7, 1e21); Go's 'f' never does.
  const mantissa = s.slice(0, e)
  const exp = Number(s.slice(e + 1))
  const negative = mantissa.startsWith('-')
  const abs = negative ? mantissa.slice(1) : mantissa
  const dot = abs.indexOf('.')
  const digits = abs.replace('.', '')
  const point = (dot < 0 ? abs.length : dot) + exp
  let out: string
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length)
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`
  return negative ? `-${out}` : out
}

type Sample = [number, string]

export interface MatrixResult {
  resultType: 'matrix'
  result: { metric: Labels; values: Sample[] }[]
}

export interface InstantResult {
  resultType: 'vector' | 'scalar'
  result: { metric: Labels; value: Sample }[] | Sample
}

export function matrixResult(value: Value, times: number[]): MatrixResult {
  if (value.kind === 'scalar')
    return {
      resultType: 'matrix',
      result: [
        {
          metric: {},
          values: value.values.map((v, i) => [(times[i] as number) / 1000, formatSampleValue(v)]),
        },
      ],
    }
  const series = value.kind === 'vector' ? value.series : []
  return {
    resultType: 'matrix',
    result: series.map((s) => ({
      metric: s.labels,
      values: s.values.flatMap((v, i): Sample[] =>
        v === null ? [] : [[(times[i] as number) / 1000, formatSampleValue(v)]],
      ),
    })),
  }
}

export function instantResult(
  value: Value,
  timeMs: number,
  order: 'asc' | 'desc' | undefined,
): InstantResult {
  if (value.kind === 'scalar')
    return { resultType: 'scalar', result: [timeMs / 1000, formatSampleValue(value.values[0] ?? NaN)] }
  const present = (value.kind === 'vector' ? value.series : []).filter((s: Series) => s.values[0] !== null)
  if (order)
    present.sort((a, b) => ((a.values[0] as number) - (b.values[0] as number)) * (order === 'asc' ? 1 : -1))
  return {
    resultType: 'vector',
    result: present.map((s) => ({
      metric: s.labels,
      value: [timeMs / 1000, formatSampleValue(s.values[0] as number)] as Sample,
    })),
  }
}
