import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { GatewayControl } from './gateway-control.ts'
import { defaultSchedule, FamilyScheduler } from './schedule.ts'

interface Seen {
  method: string
  url: string
  authorization: string | undefined
  body: string
  at: number
}

/** A stand-in gateway: answers each request with the next handler's answer and records what came. */
async function fakeGateway(
  answer: (req: Seen, res: ServerResponse) => void,
): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = []
  const server = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString('utf8')))
    req.on('end', () => {
      const s: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body,
        at: Date.now(),
      }
      seen.push(s)
      answer(s, res)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  servers.push(server)
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/prefix`, seen, server }
}

const servers: Server[] = []
const controls: GatewayControl[] = []
afterEach(async () => {
  for (const c of controls.splice(0)) await c.stop()
  for (const s of servers.splice(0)) {
    s.closeAllConnections()
    await new Promise((r) => s.close(r))
  }
})

const logger = createLogger('gateway-control-test', { level: 'silent' })

function control(url: string, extra: Partial<ConstructorParameters<typeof GatewayControl>[0]> = {}) {
  const scheduler = new FamilyScheduler(defaultSchedule(1000), () => undefined)
  const c = new GatewayControl({
    url,
    key: 'psk_test_secret',
    hostId: 'web-1.example.com',
    agentId: 'agent-1',
    groups: ['eu', 'db'],
    scheduler,
    logger,
    minBackoffMs: 50,
    maxBackoffMs: 2000,
    ...extra,
  })
  controls.push(c)
  return { c, scheduler }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

describe('GatewayControl', () => {
  it('polls with its key, host and groups, applies the request as NATS control does, and posts the reply', async () => {
    let handed = false
    const gw = await fakeGateway((s, res) => {
      if (s.method === 'POST') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"delivered":true}')
      } else if (!handed) {
        handed = true
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ id: 'id-1', request: { families: { cpu: { interval_ms: 200 } } } }))
      } else setTimeout(() => res.writeHead(204).end(), 50)
    })
    const { c, scheduler } = control(gw.url)
    expect(c.start()).toBe(true)
    await until('the reply', () => gw.seen.some((s) => s.method === 'POST'))
    const [first] = gw.seen
    expect(first?.url).toBe('/prefix/v1/control?host=web-1.example.com&groups=eu%2Cdb')
    expect(first?.authorization).toBe('Bearer psk_test_secret')
    expect(scheduler.current().cpu?.intervalMs).toBe(200)
    const post = gw.seen.find((s) => s.method === 'POST')
    expect(post?.url).toBe('/prefix/v1/control/reply')
    expect(post?.authorization).toBe('Bearer psk_test_secret')
    const body = JSON.parse(post?.body ?? '') as { id: string; reply: Record<string, unknown> }
    expect(body.id).toBe('id-1')
    expect(body.reply).toMatchObject({
      host_id: 'web-1.example.com',
      agent_id: 'agent-1',
      applied: { cpu: { enabled: true, interval_ms: 200 }, memory: { enabled: true, interval_ms: 1000 } },
    })
    // Polling goes on at once after a reply and after each 204.
    await until('more polls', () => gw.seen.filter((s) => s.method === 'GET').length >= 3)
  })

  it('replies with the validation error and applies nothing of a bad request', async () => {
    let handed = false
    const gw = await fakeGateway((s, res) => {
      if (s.method === 'POST') res.writeHead(200).end('{"delivered":true}')
      else if (!handed) {
        handed = true
        res
          .writeHead(200)
          .end(JSON.stringify({ id: 'id-2', request: { interval_ms: 100, families: { gpu: {} } } }))
      } else setTimeout(() => res.writeHead(204).end(), 50)
    })
    const { c, scheduler } = control(gw.url)
    c.start()
    await until('the reply', () => gw.seen.some((s) => s.method === 'POST'))
    const body = JSON.parse(gw.seen.find((s) => s.method === 'POST')?.body ?? '') as {
      reply: { error?: string; applied?: unknown }
    }
    expect(body.reply.error).toMatch(/unknown family "gpu"/)
    expect(body.reply.applied).toBeUndefined()
    expect(scheduler.current().cpu?.intervalMs).toBe(1000)
  })

  it('waits Retry-After on 503 and backs off on errors', async () => {
    const gw = await fakeGateway((_s, res) => {
      res
        .writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' })
        .end('{"error":"busy","code":"CONTROL_BUSY"}')
    })
    const { c } = control(gw.url)
    c.start()
    await until('two polls', () => gw.seen.length >= 2)
    const [a, b] = gw.seen
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(950)
    expect(c.stats.failures).toBeGreaterThanOrEqual(1)
  })

  it('does not poll with a host id the gateway would refuse', async () => {
    const gw = await fakeGateway((_s, res) => res.writeHead(204).end())
    const { c } = control(gw.url, { hostId: 'has space' })
    expect(c.start()).toBe(false)
    await sleep(100)
    expect(gw.seen).toEqual([])
  })

  it('stops at once while a poll is held open', async () => {
    const gw = await fakeGateway(() => undefined)
    const { c } = control(gw.url)
    c.start()
    await until('the poll', () => gw.seen.length === 1)
    const started = Date.now()
    await c.stop()
    expect(Date.now() - started).toBeLessThan(500)
    await sleep(100)
    expect(gw.seen.length).toBe(1)
  })
})
