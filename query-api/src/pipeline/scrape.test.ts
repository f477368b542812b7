import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findFreePorts } from '../../../deploy/local/ports.ts'
import { scrapeTarget } from './scrape.ts'

let server: Server
let base = ''
const seen: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '')
    switch (req.url) {
      case '/ok':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('up 1\n# TYPE x counter\nx_total{a="b"} 2\n')
        return
      case '/slow':
        return // never answers
      case '/huge': {
        res.writeHead(200, { 'content-type': 'text/plain' })
        const chunk = Buffer.alloc(1024 * 1024, 'x 1\n')
        for (let i = 0; i < 5; i++) res.write(chunk)
        res.end()
        return
      }
      case '/html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>hello</body></html>\n')
        return
      case '/redirect':
        res.writeHead(302, { location: '/ok' }).end()
        return
      default:
        res.writeHead(503).end('busy')
    }
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  base = `http://127.0.0.1:${String(address.port)}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((done) => server.close(done))
})

const read = (path: string, timeoutMs = 1_000) =>
  scrapeTarget({ name: 't', url: `${base}${path}` }, timeoutMs)

describe('scrapeTarget', () => {
  it('parses a page', async () => {
    const s = await read('/ok')
    expect(s.error).toBeUndefined()
    expect(s.page?.samples).toEqual([
      { name: 'up', labels: {}, value: 1 },
      { name: 'x_total', labels: { a: 'b' }, value: 2 },
    ])
  })

  it('gives each failure as a reason, never the body, and never throws', async () => {
    expect((await read('/slow', 200)).error).toBe('no answer within 200 ms')
    expect((await read('/huge')).error).toBe('answer over 4194304 bytes')
    expect((await read('/html')).error).toBe('not Prometheus text: line 1: no metric name')
    expect((await read('/busy')).error).toBe('answered HTTP 503')
    const [free] = await findFreePorts(1)
    const closed = await scrapeTarget({ name: 't', url: `http://127.0.0.1:${String(free)}/metrics` }, 1_000)
    expect(closed.error).toBe('cannot connect: ECONNREFUSED')
    // Ports fetch itself refuses (the Fetch standard's bad ports) say so.
    expect((await scrapeTarget({ name: 't', url: 'http://127.0.0.1:1/metrics' }, 1_000)).error).toBe(
      'cannot read: bad port',
    )
  })

  it('follows no redirect: only the configured URL is fetched', async () => {
    seen.length = 0
    expect((await read('/redirect')).error).toBe('answered HTTP 302')
    expect(seen).toEqual(['/redirect'])
  })
})
