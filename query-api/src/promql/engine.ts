import type { ClickHouseClient } from '@clickhouse/client'
import type { Call, Expr, MatrixSelector, VectorSelector } from './ast.ts'
import { aggregate } from './aggregate.ts'
import { fetchBuckets, fieldsFor, planRead, type Source } from './buckets.ts'
import { scalarScalar, setOperation, vectorScalar, vectorVector } from './binary.ts'
import { PromQLError } from './errors.ts'
import { callInstant, INSTANT_FUNCTIONS, SIGNATURES } from './functions.ts'
import { withoutName } from './labels.ts'
import { selectorWhere } from './selector-sql.ts'
import { mergeByLabels, typeName, type Series, type Value } from './values.ts'
import { evalWindows, RANGE_FUNCTIONS, type RangeFunction } from './windows.ts'

/**
 * Evaluates a parsed query at every step of a range (an instant query is a range of one step). Each
 * selector reads its series from the series table, then per-bucket summaries of their points
 * (buckets.ts), from raw or the coarsest rollup tier the step and window allow; functions, aggregations and operators
 * then work on those few values per series and step here, as Prometheus's engine does on samples.
 */
export interface EvalOptions {
  client: ClickHouseClient
  database: string
  tenant: string
  /** Host id → host name of the tenant, for the `instance` label. */
  hostnames: () => Promise<ReadonlyMap<string, string>>
  startMs: number
  /** 0 for an instant query. */
  stepMs: number
  steps: number
  lookbackMs: number
  maxBuckets: number
  timeoutMs: number
  signal?: AbortSignal | undefined
}

export interface EvalResult {
  value: Value
  /** The tables the query read, for the response's stats and for tests. */
  sources: Source[]
}

export const LOOKBACK_MS = 5 * 60_000

export async function evaluate(expr: Expr, o: EvalOptions): Promise<EvalResult> {
  const ctx = new Context(o)
  const value = await ctx.eval(expr)
  if (value.kind === 'vector')
    return { value: { kind: 'vector', series: mergeByLabels(value.series) }, sources: [...ctx.sources] }
  return { value, sources: [...ctx.sources] }
}

class Context {
  readonly sources = new Set<Source>()
  private bucketsRead = 0
  readonly times: number[]

  constructor(private readonly o: EvalOptions) {
    this.times = Array.from({ length: o.steps }, (_, k) => o.startMs + k * o.stepMs)
  }

  async eval(e: Expr): Promise<Value> {
    switch (e.kind) {
      case 'number':
        return { kind: 'scalar', values: this.times.map(() => e.value) }
      case 'string':
        return { kind: 'string', value: e.value }
      case 'paren':
        return this.eval(e.expr)
      case 'unary': {
        const v = await this.eval(e.expr)
        if (e.op === '+') return v
        if (v.kind === 'scalar') return { kind: 'scalar', values: v.values.map((x) => -x) }
        if (v.kind === 'vector')
          return {
            kind: 'vector',
            series: v.series.map((s) => ({
              labels: withoutName(s.labels),
              values: s.values.map((x) => (x === null ? null : -x)),
            })),
          }
        throw new PromQLError(
          'bad_data',
          `unary expression only allowed on expressions of type scalar or instant vector, got "${typeName(v)}"`,
        )
      }
      case 'vector':
        return { kind: 'vector', series: await this.selector(e, this.o.lookbackMs, 'instant') }
      case 'matrix':
        throw new PromQLError(
          'bad_data',
          'a range vector can only be the argument of a function here, e.g. rate(x[5m]); range vectors as query results are not supported',
        )
      case 'call':
        return this.call(e)
      case 'aggregate': {
        const inner = await this.eval(e.expr)
        if (inner.kind !== 'vector')
          throw new PromQLError(
            'bad_data',
            `expected type instant vector in aggregation expression, got ${typeName(inner)}`,
          )
        let k: number[] | undefined
        if (e.op === 'topk' || e.op === 'bottomk') {
          const p = e.param === undefined ? undefined : await this.eval(e.param)
          if (p?.kind !== 'scalar')
            throw new PromQLError('bad_data', `expected type scalar in aggregation parameter of ${e.op}`)
          k = p.values
        }
        return { kind: 'vector', series: aggregate(e, inner.series, this.o.steps, k) }
      }
      case 'binary': {
        const l = await this.eval(e.lhs)
        const r = await this.eval(e.rhs)
        const setOp = e.op === 'and' || e.op === 'or' || e.op === 'unless'
        if (setOp) {
          if (l.kind !== 'vector' || r.kind !== 'vector')
            throw new PromQLError(
              'bad_data',
              `set operator "${e.op}" not allowed in binary scalar expression`,
            )
          return { kind: 'vector', series: setOperation(e, l.series, r.series) }
        }
        if (l.kind === 'scalar' && r.kind === 'scalar')
          return { kind: 'scalar', values: scalarScalar(e, l.values, r.values) }
        if (l.kind === 'vector' && r.kind === 'scalar')
          return { kind: 'vector', series: vectorScalar(e, l.series, r.values, false) }
        if (l.kind === 'scalar' && r.kind === 'vector')
          return { kind: 'vector', series: vectorScalar(e, r.series, l.values, true) }
        if (l.kind === 'vector' && r.kind === 'vector')
          return { kind: 'vector', series: vectorVector(e, l.series, r.series, this.o.steps) }
        throw new PromQLError(
          'bad_data',
          `binary expression must contain only scalar and instant vector types`,
        )
      }
    }
  }

  private async call(e: Call): Promise<Value> {
    if ((RANGE_FUNCTIONS as readonly string[]).includes(e.func)) {
      const arg = e.args[0]
      if (e.args.length !== 1)
        throw new PromQLError(
          'bad_data',
          `expected 1 argument(s) in call to "${e.func}", got ${e.args.length}`,
        )
      if (arg?.kind !== 'matrix')
        throw new PromQLError(
          'bad_data',
          `expected type range vector in call to function "${e.func}", got ${arg?.kind === 'vector' ? 'instant vector' : 'an expression'}`,
        )
      return { kind: 'vector', series: await this.range(e.func as RangeFunction, arg) }
    }
    const sig = SIGNATURES[e.func]
    if (!INSTANT_FUNCTIONS.has(e.func) || !sig)
      throw new PromQLError(
        'bad_data',
        `function "${e.func}" is not supported by this API (supported: ${[...RANGE_FUNCTIONS, ...INSTANT_FUNCTIONS].sort().join(', ')})`,
      )
    const max = sig.args.length
    const min = max - (sig.optional ?? 0)
    if (e.args.length < min || e.args.length > max)
      throw new PromQLError(
        'bad_data',
        `expected ${min === max ? max : `${min} to ${max}`} argument(s) in call to "${e.func}", got ${e.args.length}`,
      )
    const args: Value[] = []
    for (const [i, a] of e.args.entries()) {
      const v = await this.eval(a)
      const want = sig.args[i]
      if ((want === 'vector' && v.kind !== 'vector') || (want === 'scalar' && v.kind !== 'scalar'))
        throw new PromQLError(
          'bad_data',
          `expected type ${want === 'vector' ? 'instant vector' : 'scalar'} in call to function "${e.func}", got ${typeName(v)}`,
        )
      args.push(v)
    }
    return callInstant(e.func, args, this.times)
  }

  private async range(fn: RangeFunction, m: MatrixSelector): Promise<Series[]> {
    const series = await this.selector(m.selector, m.rangeMs, fn)
    // Every range function but last_over_time drops the metric name, as Prometheus does.
    return fn === 'last_over_time'
      ? series
      : series.map((s) => ({ labels: withoutName(s.labels), values: s.values }))
  }

  /** The values of one selector's series over windows of `windowMs` ending at every evaluation time. */
  private async selector(
    sel: VectorSelector,
    windowMs: number,
    fn: RangeFunction | 'instant',
  ): Promise<Series[]> {
    if (windowMs <= 0) throw new PromQLError('bad_data', 'range must be positive')
    const steps = this.o.steps
    const first = this.o.startMs - sel.offsetMs
    const use = fn === 'instant' || fn.endsWith('_over_time') ? 'samples' : 'rate'
    const plan = planRead(first, steps > 1 ? this.o.stepMs : undefined, steps, windowMs, use)
    const hostnames = await this.o.hostnames()
    const fetched = await fetchBuckets({
      client: this.o.client,
      database: this.o.database,
      where: selectorWhere(sel.matchers, this.o.tenant, hostnames, ''),
      hostnames,
      plan,
      fields: fieldsFor(fn),
      maxBuckets: this.o.maxBuckets - this.bucketsRead,
      bucketLimit: this.o.maxBuckets,
      timeoutMs: this.o.timeoutMs,
      signal: this.o.signal,
    })
    this.bucketsRead += fetched.buckets
    this.sources.add(fetched.source)
    const layout = {
      steps,
      stepBuckets: plan.stepBuckets,
      offset: plan.offset,
      span: plan.span,
      time: (k: number) => first + k * this.o.stepMs,
      rangeMs: plan.windowMs,
      requestedRangeMs: windowMs,
    }
    return fetched.series.map((s) => ({ labels: s.labels, values: evalWindows(fn, s, layout) }))
  }
}
