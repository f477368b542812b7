import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Authenticator } from '../../../platform/auth/authenticator.ts'
import { AuthError, authErrorHeaders } from '../../../platform/auth/errors.ts'
import { metricInfo } from '../../../schemas/src/node-exporter.ts'
import { principalOf } from '../auth.ts'
import type { Expr, VectorSelector } from '../promql/ast.ts'
import { findSeries, hostnamesOf, labelNames, labelValues, type CatalogOptions } from '../promql/catalog.ts'
import { parseStepOrDuration } from '../promql/duration.ts'
import { evaluate, LOOKBACK_MS } from '../promql/engine.ts'
import { PromQLError } from '../promql/errors.ts'
import { instantResult, matrixResult } from '../promql/format.ts'
import { parsePromQL } from '../promql/parser.ts'
import { QueryCache } from '../promql/query-cache.ts'

/**
 * Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/) over the
 * tenant's data, so Grafana's built-in Prometheus data source works unchanged: GET or POST form
 * parameters, Prometheus's JSON envelopes and error types. The tenant is the key's, always.
 */
export interface PrometheusRouteDeps {
  clickhouse: ClickHouseClient
  database: string
  keys: Authenticator
  /** Most evaluation steps in a range query (Prometheus: 11,000). */
  maxPoints: number
  timeoutMs: number
  /** Most bucket rows one query may read from ClickHouse, over all its selectors. */
  maxBuckets: number
  /** How long a step-aligned range query's answer is reused; 0 turns the cache off. */
  cacheTtlMs: number
}

type Params = Record<string, string[]>

const HOSTNAMES_TTL_MS = 10_000
/** Which tables answered (metrics_raw or a rollup tier), for operators and tests. */
export const SOURCES_HEADER = 'x-procstream-sources'
const MAX_CATALOG_RESULTS = 100_000
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function one(p: Params, name: string): string | undefined {
  return p[name]?.at(-1)
}

/** Prometheus's time parameter: seconds since the epoch (fractions allowed) or RFC 3339. */
export function parseTime(text: string | undefined, name: string, fallbackMs: number): number {
  if (text === undefined || text === '') return fallbackMs
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const ms = Date.parse(text)
  if (/^\d{4}-\d{2}-\d{2}T/.test(text) && Number.isFinite(ms)) return ms
  throw new PromQLError(
    'bad_data',
    `invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`,
  )
}

function parseQuery(p: Params): Expr {
  const q = one(p, 'query')
  if (q === undefined) throw new PromQLError('bad_data', 'invalid parameter "query": missing')
  return parsePromQL(q)
}

function selectors(p: Params): VectorSelector[] {
  return (p['match[]'] ?? []).map((m) => {
    const e = parsePromQL(m)
    if (e.kind !== 'vector')
      throw new PromQLError(
        'bad_data',
        `invalid parameter "match[]": ${JSON.stringify(m)} is not a series selector`,
      )
    return e
  })
}

/** `sort(…)` / `sort_desc(…)` at the top of an instant query orders its answer. */
function orderOf(e: Expr): 'asc' | 'desc' | undefined {
  while (e.kind === 'paren') e = e.expr
  if (e.kind === 'call' && e.func === 'sort') return 'asc'
  if (e.kind === 'call' && e.func === 'sort_desc') return 'desc'
  return undefined
}

function toParams(query: unknown, body: unknown): Params {
  const out: Params = {}
  const add = (src: unknown): void => {
    if (!src || typeof src !== 'object') return
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      const list = Array.isArray(v) ? v.map(String) : [String(v)]
      out[k] = [...(out[k] ?? []), ...list]
    }
  }
  add(query)
  add(body)
  return out
}

export function prometheusRoutes(app: FastifyInstance, deps: PrometheusRouteDeps): void {
  const hostnameCache = new Map<string, { at: number; map: Promise<Map<string, string>> }>()
  const hostnames = (tenant: string): Promise<Map<string, string>> => {
    const hit = hostnameCache.get(tenant)
    if (hit && Date.now() - hit.at < HOSTNAMES_TTL_MS) return hit.map
    const map = hostnamesOf(deps.clickhouse, deps.database, tenant)
    hostnameCache.set(tenant, { at: Date.now(), map })
    map.catch(() => hostnameCache.delete(tenant))
    return map
  }
  const cache = new QueryCache(deps.cacheTtlMs, 500)

  void app.register((api, _opts, done) => {
    // Grafana POSTs its queries as a form; URLSearchParams keeps repeated keys such as match[].
    api.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => {
        const form: Params = {}
        for (const [k, v] of new URLSearchParams(body as string)) (form[k] ??= []).push(v)
        done(null, form)
      },
    )
    api.setErrorHandler((err, req, reply) => sendError(req, reply, err))
    const handle = (
      path: string,
      fn: (p: Params, tenant: string, signal: AbortSignal, reply: FastifyReply) => Promise<unknown>,
    ): void => {
      const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
        const principal = await principalOf(req, deps.keys, 'read')
        const params = toParams(req.query, req.body)
        const signal = AbortSignal.timeout(deps.timeoutMs)
        const data = await fn(params, principal.tenant, signal, reply)
        return reply.send({ status: 'success', data })
      }
      api.get(path, handler)
      api.post(path, handler)
    }

    handle('/api/v1/query', async (p, tenant, signal, reply) => {
      const expr = parseQuery(p)
      const time = parseTime(one(p, 'time'), 'time', Date.now())
      const { value, sources } = await evaluate(expr, {
        client: deps.clickhouse,
        database: deps.database,
        tenant,
        hostnames: () => hostnames(tenant),
        startMs: time,
        stepMs: 0,
        steps: 1,
        lookbackMs: LOOKBACK_MS,
        maxBuckets: deps.maxBuckets,
        timeoutMs: deps.timeoutMs,
        signal,
      })
      void reply.header(SOURCES_HEADER, sources.join(','))
      return instantResult(value, time, orderOf(expr))
    })

    handle('/api/v1/query_range', async (p, tenant, signal, reply) => {
      const expr = parseQuery(p)
      const start = parseTime(one(p, 'start'), 'start', Number.NaN)
      const end = parseTime(one(p, 'end'), 'end', Number.NaN)
      if (Number.isNaN(start)) throw new PromQLError('bad_data', 'invalid parameter "start": missing')
      if (Number.isNaN(end)) throw new PromQLError('bad_data', 'invalid parameter "end": missing')
      const stepText = one(p, 'step')
      if (stepText === undefined) throw new PromQLError('bad_data', 'invalid parameter "step": missing')
      const step = parseStepOrDuration(stepText)
      if (end < start)
        throw new PromQLError(
          'bad_data',
          'invalid parameter "end": end timestamp must not be before start time',
        )
      if (step <= 0)
        throw new PromQLError(
          'bad_data',
          'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
        )
      if (!Number.isInteger(step))
        throw new PromQLError(
          'bad_data',
          'invalid parameter "step": the step must be a whole number of milliseconds',
        )
      const steps = Math.floor((end - start) / step) + 1
      if (steps > deps.maxPoints)
        throw new PromQLError(
          'bad_data',
          `exceeded maximum resolution of ${deps.maxPoints} points per timeseries. Try decreasing the query resolution (?step=XX)`,
        )
      const key = `${tenant}\u0000${one(p, 'query') ?? ''}\u0000${start}\u0000${end}\u0000${step}`
      // Only step-aligned ranges that end in the past are cached: their answer cannot change while
      // cached unless data arrives late, and Grafana aligns every range query to its step.
      const cacheable = start % step === 0 && end < Date.now() - LOOKBACK_MS
      const compute = async (): Promise<{ result: unknown; sources: string[] }> => {
        const times = Array.from({ length: steps }, (_, k) => start + k * step)
        const { value, sources } = await evaluate(expr, {
          client: deps.clickhouse,
          database: deps.database,
          tenant,
          hostnames: () => hostnames(tenant),
          startMs: start,
          stepMs: step,
          steps,
          lookbackMs: LOOKBACK_MS,
          maxBuckets: deps.maxBuckets,
          timeoutMs: deps.timeoutMs,
          signal,
        })
        return { result: matrixResult(value, times), sources }
      }
      const answer = (await (cacheable ? cache.get(key, compute) : compute())) as Awaited<
        ReturnType<typeof compute>
      >
      void reply.header(SOURCES_HEADER, answer.sources.join(','))
      return answer.result
    })

    const catalog = (
      p: Params,
      tenant: string,
      signal: AbortSignal,
      map: Map<string, string>,
    ): CatalogOptions => {
      const end = parseTime(one(p, 'end'), 'end', Date.now())
      // Prometheus's default is all time; a day keeps an unbounded lookup off the storage.
      const start = parseTime(one(p, 'start'), 'start', end - 24 * 3_600_000)
      if (end < start)
        throw new PromQLError(
          'bad_data',
          'invalid parameter "end": end timestamp must not be before start time',
        )
      const limitText = one(p, 'limit')
      const limit = limitText === undefined || limitText === '0' ? MAX_CATALOG_RESULTS : Number(limitText)
      if (!Number.isInteger(limit) || limit < 0)
        throw new PromQLError('bad_data', `invalid parameter "limit": ${JSON.stringify(limitText)}`)
      return {
        client: deps.clickhouse,
        database: deps.database,
        tenant,
        hostnames: map,
        startMs: start,
        endMs: end,
        match: selectors(p),
        limit: Math.min(limit, MAX_CATALOG_RESULTS),
        signal,
      }
    }

    handle('/api/v1/series', async (p, tenant, signal) => {
      if ((p['match[]'] ?? []).length === 0)
        throw new PromQLError('bad_data', 'no match[] parameter provided')
      return findSeries(catalog(p, tenant, signal, await hostnames(tenant)))
    })
    handle('/api/v1/labels', async (p, tenant, signal) =>
      labelNames(catalog(p, tenant, signal, await hostnames(tenant))),
    )
    api.get('/api/v1/label/:name/values', async (req, reply) => {
      const principal = await principalOf(req, deps.keys, 'read')
      const { name } = req.params as { name: string }
      if (!LABEL_NAME.test(name))
        throw new PromQLError('bad_data', `invalid label name: ${JSON.stringify(name)}`)
      const p = toParams(req.query, undefined)
      const opts = catalog(
        p,
        principal.tenant,
        AbortSignal.timeout(deps.timeoutMs),
        await hostnames(principal.tenant),
      )
      return reply.send({ status: 'success', data: await labelValues(opts, name) })
    })
    // HELP and TYPE as node_exporter declares them, for the metric names the tenant has stored.
    handle('/api/v1/metadata', async (p, tenant, signal) => {
      const metric = one(p, 'metric')
      const limit = Number(one(p, 'limit') ?? '-1')
      const names = await labelValues(catalog({}, tenant, signal, await hostnames(tenant)), '__name__')
      const out: Record<string, { type: string; help: string; unit: string }[]> = {}
      for (const name of names) {
        if (metric !== undefined && metric !== '' && name !== metric) continue
        if (limit >= 0 && Object.keys(out).length >= limit) break
        const info = metricInfo(name)
        if (info)
          out[name] = [{ type: info.type === 'untyped' ? 'unknown' : info.type, help: info.help, unit: '' }]
      }
      return out
    })
    handle('/api/v1/query_exemplars', () => Promise.resolve([]))
    handle('/api/v1/status/buildinfo', () =>
      Promise.resolve({
        // Grafana reads the version to pick features; this API answers as the Prometheus it follows.
        version: '2.42.0',
        revision: 'procstream',
        branch: 'procstream',
        buildUser: 'procstream',
        buildDate: '',
        goVersion: '',
      }),
    )
    done()
  })
}

function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof AuthError) {
    void reply.headers(authErrorHeaders(err))
    return reply
      .code(err.statusCode)
      .send({ status: 'error', errorType: err.code.toLowerCase(), error: err.message })
  }
  if (err instanceof PromQLError) {
    if (err.type === 'unavailable') req.log.error({ err }, 'prometheus API query failed')
    return reply.code(err.statusCode).send({ status: 'error', errorType: err.type, error: err.message })
  }
  const status =
    typeof (err as { statusCode?: unknown }).statusCode === 'number'
      ? (err as { statusCode: number }).statusCode
      : 500
  if (status >= 500) req.log.error({ err }, 'prometheus API request failed')
  return reply.code(status).send({
    status: 'error',
    errorType: status >= 500 ? 'internal' : 'bad_data',
    error: status >= 500 ? 'internal error' : (err as Error).message,
  })
}
