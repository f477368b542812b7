import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Authenticator } from '#platform/auth/authenticator.ts'
import { AuthError, authErrorHeaders } from '#platform/auth/errors.ts'
import { metricInfo } from '#schemas/src/node-exporter.ts'
import { principalOf } from '../auth.ts'
import type { Expr, VectorSelector } from '../promql/ast.ts'
import {
  findSeries,
  hostnamesOf,
  labelNames,
  labelValues,
  unameHostnamesOf,
  type CatalogOptions,
} from '../promql/catalog.ts'
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
  /** Told of every lookup of that cache, hit or not (the query API's /metrics). */
  onCacheLookup?: (hit: boolean) => void
}

type Params = Record<string, string[]>

/** One request to a Prometheus endpoint, as its handler sees it. */
interface Call {
  p: Params
  tenant: string
  signal: AbortSignal
  reply: FastifyReply
  /** Parameters of the path (`:name`). */
  path: Record<string, string>
  /** Adds to the answer's `warnings`. */
  warn: (warning: string) => void
}

const HOSTNAMES_TTL_MS = 10_000
/** Names of hosts silent past sample_log's retention change seldom: read from the series table less often. */
const UNAME_HOSTNAMES_TTL_MS = 300_000
/** Which levels answered (metrics_raw or a rollup tier, buckets.ts TIERS), for operators and tests. */
export const SOURCES_HEADER = 'x-procstream-sources'
/** Most series, label names or values one catalog request reads, whatever its `limit`. */
const MAX_CATALOG_RESULTS = 100_000
const TRUNCATED = 'results truncated due to limit'
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

/**
 * The `limit` of series, labels and label values, as Prometheus reads it: absent or 0 is no limit, a
 * negative number is refused.
 */
function parseLimit(p: Params): number | undefined {
  const text = one(p, 'limit')
  if (text === undefined || text === '') return undefined
  const limit = Number(text)
  if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(limit))
    throw new PromQLError(
      'bad_data',
      `invalid parameter "limit": cannot parse ${JSON.stringify(text)} as an integer`,
    )
  if (limit < 0) throw new PromQLError('bad_data', 'invalid parameter "limit": limit must be non-negative')
  return limit === 0 ? undefined : limit
}

/** The first `limit` results (already in Prometheus's order), with its warning when some were cut. */
function truncate<T>(all: T[], limit: number | undefined, warn: (w: string) => void): T[] {
  if (limit === undefined || all.length <= limit) return all
  warn(TRUNCATED)
  return all.slice(0, limit)
}

/** The metadata endpoint's limits: -1 (all) unless given; not a number is bad_data, as in Prometheus. */
function metadataLimit(p: Params, name: string): number {
  const text = one(p, name)
  if (text === undefined || text === '') return -1
  if (!/^[+-]?\d+$/.test(text)) throw new PromQLError('bad_data', `${name} must be a number`)
  return Number(text)
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
  type HostMapCache = Map<string, { at: number; map: Promise<Map<string, string>> }>
  const cached = (
    cache: HostMapCache,
    ttlMs: number,
    tenant: string,
    read: () => Promise<Map<string, string>>,
  ): Promise<Map<string, string>> => {
    const hit = cache.get(tenant)
    if (hit && Date.now() - hit.at < ttlMs) return hit.map
    const map = read()
    cache.set(tenant, { at: Date.now(), map })
    map.catch(() => cache.delete(tenant))
    return map
  }
  const recentNames: HostMapCache = new Map()
  const unameNames: HostMapCache = new Map()
  /** Host id → name: the agent's from recent envelopes, else the nodename of node_uname_info. */
  const hostnames = async (tenant: string): Promise<Map<string, string>> => {
    const [recent, uname] = await Promise.all([
      cached(recentNames, HOSTNAMES_TTL_MS, tenant, () =>
        hostnamesOf(deps.clickhouse, deps.database, tenant),
      ),
      cached(unameNames, UNAME_HOSTNAMES_TTL_MS, tenant, () =>
        unameHostnamesOf(deps.clickhouse, deps.database, tenant),
      ),
    ])
    if (uname.size === 0) return recent
    const out = new Map(uname)
    for (const [host, name] of recent) if (name !== '' || !out.has(host)) out.set(host, name)
    return out
  }
  const cache = new QueryCache(deps.cacheTtlMs, 500, deps.onCacheLookup)

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
    // Every read endpoint answers GET and POST (a form, as Grafana sends), as Prometheus's do.
    const handle = (path: string, fn: (c: Call) => Promise<unknown>): void => {
      const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
        const principal = await principalOf(req, deps.keys, 'read')
        const warnings: string[] = []
        const data = await fn({
          p: toParams(req.query, req.body),
          tenant: principal.tenant,
          signal: AbortSignal.timeout(deps.timeoutMs),
          reply,
          path: req.params as Record<string, string>,
          warn: (w) => warnings.push(w),
        })
        return reply.send({ status: 'success', data, ...(warnings.length > 0 && { warnings }) })
      }
      api.get(path, handler)
      api.post(path, handler)
    }

    handle('/api/v1/query', async ({ p, tenant, signal, reply }) => {
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

    handle('/api/v1/query_range', async ({ p, tenant, signal, reply }) => {
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

    const catalog = async (p: Params, tenant: string, signal: AbortSignal): Promise<CatalogOptions> => {
      const end = parseTime(one(p, 'end'), 'end', Date.now())
      // Prometheus's default is all time; a day keeps an unbounded lookup off the storage.
      const start = parseTime(one(p, 'start'), 'start', end - 24 * 3_600_000)
      if (end < start)
        throw new PromQLError(
          'bad_data',
          'invalid parameter "end": end timestamp must not be before start time',
        )
      return {
        client: deps.clickhouse,
        database: deps.database,
        tenant,
        hostnames: await hostnames(tenant),
        startMs: start,
        endMs: end,
        match: selectors(p),
        limit: MAX_CATALOG_RESULTS,
        signal,
      }
    }

    handle('/api/v1/series', async ({ p, tenant, signal, warn }) => {
      if ((p['match[]'] ?? []).length === 0)
        throw new PromQLError('bad_data', 'no match[] parameter provided')
      const limit = parseLimit(p)
      return truncate(await findSeries(await catalog(p, tenant, signal)), limit, warn)
    })
    handle('/api/v1/labels', async ({ p, tenant, signal, warn }) => {
      const limit = parseLimit(p)
      return truncate(await labelNames(await catalog(p, tenant, signal)), limit, warn)
    })
    handle('/api/v1/label/:name/values', async ({ p, tenant, signal, path, warn }) => {
      const name = path.name ?? ''
      if (!LABEL_NAME.test(name))
        throw new PromQLError('bad_data', `invalid label name: ${JSON.stringify(name)}`)
      const limit = parseLimit(p)
      return truncate(await labelValues(await catalog(p, tenant, signal), name), limit, warn)
    })
    // HELP and TYPE as node_exporter declares them, for the metric names the tenant has stored.
    // `limit` caps the metrics (0: none, negative: all), `limit_per_metric` their entries (one here).
    handle('/api/v1/metadata', async ({ p, tenant, signal }) => {
      const metric = one(p, 'metric')
      const limit = metadataLimit(p, 'limit')
      const perMetric = metadataLimit(p, 'limit_per_metric')
      const names = await labelValues(await catalog({}, tenant, signal), '__name__')
      const out: Record<string, { type: string; help: string; unit: string }[]> = {}
      for (const name of names) {
        if (metric !== undefined && metric !== '' && name !== metric) continue
        if (limit >= 0 && Object.keys(out).length >= limit) break
        const info = metricInfo(name)
        if (!info) continue
        const entries = [{ type: info.type === 'untyped' ? 'unknown' : info.type, help: info.help, unit: '' }]
        out[name] = perMetric > 0 ? entries.slice(0, perMetric) : entries
      }
      return out
    })
    // No recording or alerting rules live here; Grafana asks for them (alert state in panels, the
    // data source's rule browser) and wants Prometheus's empty answers.
    handle('/api/v1/rules', () => Promise.resolve({ groups: [] }))
    handle('/api/v1/alerts', () => Promise.resolve({ alerts: [] }))
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
