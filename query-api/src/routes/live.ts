import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { NatsConnection, Subscription } from 'nats'
import type { Authenticator } from '#platform/auth/authenticator.ts'
import { LIVE_SUBJECT_PREFIX, liveSubject, subjectToken, type LiveMessage } from '#schemas/src/live.ts'
import { principalOf } from '../auth.ts'
import { QueryApiError } from '../errors.ts'

export interface LiveOptions {
  /** Core NATS the processors publish stored points to; without it the route answers 503. */
  nats: NatsConnection | undefined
  keys: Authenticator
  /** A client whose unsent events pass this many bytes is too slow: it is dropped, not buffered for. */
  maxBufferedBytes: number
  /** Open streams one tenant may hold in this process. */
  maxStreamsPerTenant: number
  /** A comment line this often keeps proxies from closing a quiet stream. */
  heartbeatMs: number
}

const decoder = new TextDecoder()

/**
 * `GET /api/live[?host=H][&metric=a,b]`: Server-Sent Events of the points the processors store, just
 * after each insert succeeded, for the key's tenant only. One event per host and processor chunk that
 * holds any of the asked-for metrics:
 * `data: {"host": H, "points": [[metric, labels, ts_us, value], …], "rates": [[metric, labels, ts_us,
 * per_second], …]}`, the rates being the processor's per-second rates of the points' counters
 * (node_exporter TYPE counter only: untyped ones such as node_netstat_* have none, nor has a series'
 * first point after a processor restart without a stored previous value).
 *
 * Core NATS, no history: what is stored while a client is not connected never reaches it, and a
 * replayed chunk may come twice, so a client back-fills gaps from /api/series or /api/fleet and keys
 * points by series and time (the dashboard does both: public/app.js, public/live-series.js).
 *
 * The tenant is the key's and is the token after the subject prefix, escaped, so no host or metric
 * asked for can widen the subscription to another tenant (`host=>` is the host named ">"). The key
 * goes in the Authorization header, never in the URL: the dashboard reads the stream with fetch, not
 * EventSource.
 */
export function liveRoutes(app: FastifyInstance, o: LiveOptions): void {
  const perTenant = new Map<string, number>()
  const streams = new Set<ServerResponse>()
  // An open stream never ends by itself: without this, closing the server would wait for every client.
  app.addHook('preClose', (done) => {
    for (const res of streams) res.end()
    done()
  })

  app.get('/api/live', async (req, reply) => {
    const principal = await principalOf(req, o.keys, 'read')
    const nats = o.nats
    if (!nats)
      throw new QueryApiError('BACKEND', 'live updates need NATS, which this installation does not run')
    const q = req.query as Record<string, unknown>
    const host = q.host
    if (host !== undefined && (typeof host !== 'string' || host.length === 0 || host.length > 255))
      throw new QueryApiError('BAD_REQUEST', 'host must be one host id of 1–255 characters')
    const metricParam = q.metric
    if (metricParam !== undefined && typeof metricParam !== 'string')
      throw new QueryApiError('BAD_REQUEST', 'metric must be a comma-separated list of metric names')
    const metrics = metricParam === undefined ? undefined : new Set(metricParam.split(',').filter(Boolean))
    const tenant = principal.tenant
    const open = perTenant.get(tenant) ?? 0
    if (open >= o.maxStreamsPerTenant)
      throw new QueryApiError(
        'TOO_MANY_STREAMS',
        `tenant ${tenant} already has ${String(open)} live streams open here (the limit); close one first`,
      )

    const subject =
      host === undefined ? `${LIVE_SUBJECT_PREFIX}.${subjectToken(tenant)}.>` : liveSubject(tenant, host)
    const sub: Subscription = nats.subscribe(subject)
    perTenant.set(tenant, open + 1)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx and friends would otherwise hold events back to fill a buffer.
      'x-accel-buffering': 'no',
    })
    res.write(`: procstream live ${subject.slice(LIVE_SUBJECT_PREFIX.length + 1)}\n\n`)
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), o.heartbeatMs)
    streams.add(res)
    // Once, whichever comes first: the client leaves, the server closes, or the client is too slow.
    let closed = false
    const finish = (): void => {
      if (closed) return
      closed = true
      clearInterval(heartbeat)
      sub.unsubscribe()
      streams.delete(res)
      if (!res.destroyed) res.destroy()
      const left = (perTenant.get(tenant) ?? 1) - 1
      if (left === 0) perTenant.delete(tenant)
      else perTenant.set(tenant, left)
    }
    res.once('close', finish)

    void (async () => {
      for await (const m of sub) {
        let message: LiveMessage
        try {
          message = JSON.parse(decoder.decode(m.data)) as LiveMessage
        } catch {
          continue
        }
        // The subject already holds only this tenant; checking the payload too costs nothing.
        if (message.tenant !== tenant) continue
        const points = metrics ? message.points.filter((p) => metrics.has(p[0])) : message.points
        if (points.length === 0) continue
        const allRates = message.rates ?? []
        const rates = metrics ? allRates.filter((p) => metrics.has(p[0])) : allRates
        if (res.writableLength > o.maxBufferedBytes) {
          req.log.info({ tenant, buffered: res.writableLength }, 'live client too slow: stream closed')
          finish()
          return
        }
        res.write(`data: ${JSON.stringify({ host: message.host, points, rates })}\n\n`)
      }
    })()
  })
}
