import type { FastifyInstance } from 'fastify'
import { processPoints, withProcessMetadata } from '#platform/build-info.ts'
import { formatMetricPoints, type ExposedPoint, type MetricMetadata } from '#platform/prometheus-text.ts'

/** Upper bounds in seconds: a dashboard refresh is tens of ms, a heavy range query seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const

const METRICS: Record<string, MetricMetadata> = {
  procstream_query_api_requests_total: {
    type: 'counter',
    help: 'Requests answered, by route pattern and status code.',
  },
  procstream_query_api_request_duration_seconds: {
    type: 'histogram',
    help: 'Time from a request arriving to its answer being sent, every route.',
  },
  procstream_query_api_live_streams: { type: 'gauge', help: 'GET /api/live requests open.' },
  procstream_query_api_sql_running: { type: 'gauge', help: 'POST /api/v1/sql requests being answered.' },
  procstream_query_api_sql_refused_total: {
    type: 'counter',
    help: 'POST /api/v1/sql requests answered with an error, by status code.',
  },
  procstream_query_api_query_cache_lookups_total: {
    type: 'counter',
    help: "Lookups of the Prometheus API's range-query cache, by result (hit or miss).",
  },
}

// Requests to no route are counted under one pattern: their URLs are whatever a caller typed.
const UNMATCHED = 'unmatched'
const LIVE_ROUTE = '/api/live'
const SQL_ROUTE = '/api/v1/sql'

/**
 * The query API's own health for GET /metrics. Counted by route pattern (never by URL, query or key),
 * with no tenant label at all: the page is installation-wide and readable without a key, as the
 * gateway's is, so nothing on it may tell one tenant anything about another.
 */
export class QueryApiMetrics {
  private readonly requests = new Map<string, number>()
  private readonly sqlRefused = new Map<number, number>()
  private readonly durationCounts = new Array<number>(DURATION_BUCKETS.length).fill(0)
  private durationCount = 0
  private durationSum = 0
  private liveStreams = 0
  private sqlRunning = 0
  private cacheHits = 0
  private cacheMisses = 0

  readonly cacheLookup = (hit: boolean): void => {
    if (hit) this.cacheHits++
    else this.cacheMisses++
  }

  /** Hooks that count every request; call before the routes are added. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', (req, reply, done) => {
      const route = req.routeOptions.url
      if (route === LIVE_ROUTE) {
        // A stream's answer is hijacked and never reaches onResponse: its end is the response's close.
        this.liveStreams++
        reply.raw.once('close', () => {
          this.liveStreams--
        })
      } else if (route === SQL_ROUTE && req.method === 'POST') {
        this.sqlRunning++
        reply.raw.once('close', () => {
          this.sqlRunning--
        })
      }
      done()
    })
    app.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions.url ?? UNMATCHED
      const status = reply.statusCode
      const key = `${route}\u0000${String(status)}`
      this.requests.set(key, (this.requests.get(key) ?? 0) + 1)
      if (route === SQL_ROUTE && status >= 400)
        this.sqlRefused.set(status, (this.sqlRefused.get(status) ?? 0) + 1)
      this.observe(reply.elapsedTime / 1000)
      done()
    })
  }

  private observe(seconds: number): void {
    this.durationCount++
    this.durationSum += seconds
    for (let i = 0; i < DURATION_BUCKETS.length; i++)
      if (seconds <= (DURATION_BUCKETS[i] ?? 0)) this.durationCounts[i] = (this.durationCounts[i] ?? 0) + 1
  }

  render(): string {
    const points: ExposedPoint[] = processPoints('query-api')
    for (const [key, value] of this.requests) {
      const [route = '', code = ''] = key.split('\u0000')
      points.push({ name: 'procstream_query_api_requests_total', labels: { route, code }, value })
    }
    const duration = 'procstream_query_api_request_duration_seconds'
    DURATION_BUCKETS.forEach((le, i) => {
      points.push({
        name: `${duration}_bucket`,
        labels: { le: String(le) },
        value: this.durationCounts[i] ?? 0,
      })
    })
    points.push(
      { name: `${duration}_bucket`, labels: { le: '+Inf' }, value: this.durationCount },
      { name: `${duration}_sum`, labels: {}, value: this.durationSum },
      { name: `${duration}_count`, labels: {}, value: this.durationCount },
      { name: 'procstream_query_api_live_streams', labels: {}, value: this.liveStreams },
      { name: 'procstream_query_api_sql_running', labels: {}, value: this.sqlRunning },
      {
        name: 'procstream_query_api_query_cache_lookups_total',
        labels: { result: 'hit' },
        value: this.cacheHits,
      },
      {
        name: 'procstream_query_api_query_cache_lookups_total',
        labels: { result: 'miss' },
        value: this.cacheMisses,
      },
    )
    for (const [code, value] of this.sqlRefused)
      points.push({ name: 'procstream_query_api_sql_refused_total', labels: { code: String(code) }, value })
    return formatMetricPoints(
      points,
      withProcessMetadata((name) => METRICS[name]),
    )
  }
}
