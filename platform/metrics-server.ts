import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from './logger.ts'

/** Prometheus text exposition format 0.0.4, as node_exporter serves it. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface MetricsServer {
  /** host:port actually bound (port 0 asks the kernel for a free one). */
  readonly address: string
  close(): Promise<void>
}

/**
 * Serves a component's own health on GET /metrics for a Prometheus or a curl, rendered fresh on every
 * request. Nothing else is served: this port is for scraping, not a second data path.
 */
export async function startMetricsServer(
  host: string,
  port: number,
  render: () => string | Promise<string>,
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics is served here\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n')
      return
    }
    Promise.resolve()
      .then(render)
      .then(
        (body) => {
          res.writeHead(200, {
            'content-type': METRICS_CONTENT_TYPE,
            'content-length': Buffer.byteLength(body),
          })
          res.end(req.method === 'HEAD' ? undefined : body)
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot render metrics: ${String(err)}\n`)
        },
      )
  })
  // A scraper that holds connections open must not keep the agent from exiting.
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const bound = server.address() as AddressInfo
  return {
    address: `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${String(bound.port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          resolve()
        })
      }),
  }
}

/**
 * startMetricsServer for a component whose data path matters more than its scrape endpoint: a port
 * that cannot be bound is logged (naming `what` and why the component goes on) and gives undefined.
 */
export async function serveMetricsOrLog(o: {
  listen: { host: string; port: number } | undefined
  render: () => string | Promise<string>
  logger: Logger
  /** e.g. "the agent’s own metrics": the log lines read `serving <what> on /metrics`. */
  what: string
  /** What still happens without the endpoint, for the error line. */
  goesOn: string
}): Promise<MetricsServer | undefined> {
  if (!o.listen) return undefined
  const { host, port } = o.listen
  try {
    const server = await startMetricsServer(host, port, o.render)
    o.logger.info({ address: server.address }, `serving ${o.what} on /metrics`)
    return server
  } catch (err) {
    o.logger.error({ host, port, error: String(err) }, `cannot serve ${o.what} on /metrics; ${o.goesOn}`)
    return undefined
  }
}
