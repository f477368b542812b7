import { PromQLError } from './errors.ts'
import { withoutName } from './labels.ts'
import type { Series, Value } from './values.ts'

/**
 * Functions of instant vectors and scalars. Range-vector functions live in windows.ts, since they
 * read buckets, not values. Each takes its evaluated arguments; `times` are the evaluation times (ms).
 */
type Args = Value[]

const MATH: Record<string, (x: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: Math.sign,
}

export const INSTANT_FUNCTIONS = new Set([
  ...Object.keys(MATH),
  'round',
  'clamp',
  'clamp_min',
  'clamp_max',
  'scalar',
  'vector',
  'time',
  'sort',
  'sort_desc',
])

/** The argument types of each function, Prometheus's way of naming them in errors. */
export const SIGNATURES: Record<string, { args: ('vector' | 'scalar')[]; optional?: number }> = {
  ...Object.fromEntries(Object.keys(MATH).map((f) => [f, { args: ['vector'] }])),
  round: { args: ['vector', 'scalar'], optional: 1 },
  clamp: { args: ['vector', 'scalar', 'scalar'] },
  clamp_min: { args: ['vector', 'scalar'] },
  clamp_max: { args: ['vector', 'scalar'] },
  scalar: { args: ['vector'] },
  vector: { args: ['scalar'] },
  time: { args: [] },
  sort: { args: ['vector'] },
  sort_desc: { args: ['vector'] },
}

function mapSeries(v: Value, f: (x: number, i: number) => number | null): Series[] {
  if (v.kind !== 'vector') throw new PromQLError('bad_data', 'expected an instant vector')
  return v.series.map((s) => ({
    labels: withoutName(s.labels),
    values: s.values.map((x, i) => (x === null ? null : f(x, i))),
  }))
}

function scalarArg(v: Value | undefined, steps: number, fallback: number): number[] {
  if (v === undefined) return new Array<number>(steps).fill(fallback)
  if (v.kind !== 'scalar') throw new PromQLError('bad_data', 'expected a scalar')
  return v.values
}

export function callInstant(name: string, args: Args, times: number[]): Value {
  const steps = times.length
  const math = MATH[name]
  if (math) return { kind: 'vector', series: mapSeries(args[0] as Value, math) }
  switch (name) {
    case 'round': {
      const to = scalarArg(args[1], steps, 1)
      return {
        kind: 'vector',
        series: mapSeries(args[0] as Value, (x, i) => {
          const inv = 1 / (to[i] as number)
          return Math.floor(x * inv + 0.5) / inv
        }),
      }
    }
    case 'clamp': {
      const lo = scalarArg(args[1], steps, 0)
      const hi = scalarArg(args[2], steps, 0)
      return {
        kind: 'vector',
        series: mapSeries(args[0] as Value, (x, i) =>
          (hi[i] as number) < (lo[i] as number)
            ? null
            : Math.max(lo[i] as number, Math.min(hi[i] as number, x)),
        ),
      }
    }
    case 'clamp_min': {
      const lo = scalarArg(args[1], steps, 0)
      return { kind: 'vector', series: mapSeries(args[0] as Value, (x, i) => Math.max(lo[i] as number, x)) }
    }
    case 'clamp_max': {
      const hi = scalarArg(args[1], steps, 0)
      return { kind: 'vector', series: mapSeries(args[0] as Value, (x, i) => Math.min(hi[i] as number, x)) }
    }
    case 'scalar': {
      const v = args[0] as Value
      if (v.kind !== 'vector') throw new PromQLError('bad_data', 'expected an instant vector')
      const values = times.map((_, i) => {
        const present = v.series.filter((s) => s.values[i] !== null)
        return present.length === 1 ? ((present[0] as Series).values[i] as number) : Number.NaN
      })
      return { kind: 'scalar', values }
    }
    case 'vector':
      return { kind: 'vector', series: [{ labels: {}, values: scalarArg(args[0], steps, 0).slice() }] }
    case 'time':
      return { kind: 'scalar', values: times.map((t) => t / 1000) }
    case 'sort':
    case 'sort_desc':
      // Order only shows in an instant query's answer; the route sorts it there.
      return args[0] as Value
    default:
      throw new PromQLError('bad_data', `function "${name}" is not supported`)
  }
}
