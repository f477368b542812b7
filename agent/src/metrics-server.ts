import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Sample } from '../../schemas/src/families.ts'
import { formatPrometheus } from './format/prometheus.ts'

/** Prometheus text exposition format 0.0.4, as node_exporter serves it. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface MetricsServer {
  /** host:port actually bound (port 0 asks the kernel for a free one). */
  readonly address: string
  close(): Promise<void>
}

/**
 * Serves the agent's own health on GET /metrics for a local Prometheus or a curl, built fresh on
 * every request from the same record the `agent` family sends. Nothing else is served: this port is
 * for scraping, not a second data path for /proc samples.
 */
export async function startMetricsServer(
  host: string,
  port: number,
  current: () => Sample,
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
    const body = formatPrometheus([current()])
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
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
