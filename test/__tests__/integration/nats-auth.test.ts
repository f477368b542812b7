/**
 * NATS as every procstream installation runs it: credentials required, one user per tenant. Each
 * check goes through the real server: who may connect at all, and what a tenant's credential may
 * read and write of another tenant's live points and control subjects.
 */
import { connect as netConnect } from 'node:net'
import type { NatsConnection, Subscription } from 'nats'
import { connect } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectService, connectTenant, natsUrl, serviceNatsConfig } from '../../support/nats.ts'
import { waitFor } from '../../support/wait-for.ts'

let service: NatsConnection
let acme: NatsConnection
const opened: NatsConnection[] = []

beforeAll(async () => {
  service = await connectService('it-nats-auth-service')
  acme = await connectTenant('acme', 'it-nats-auth-acme')
  opened.push(service, acme)
})

afterAll(async () => {
  for (const nc of opened) await nc.close()
})

/** What a subscription receives, and the error the server ended it with, if any. */
function collect(
  nc: NatsConnection,
  subject: string,
): { got: string[]; error: () => string | undefined; sub: Subscription } {
  const got: string[] = []
  let error: string | undefined
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) error = err.message
      else got.push(`${msg.subject}=${msg.string()}`)
    },
  })
  return { got, error: () => error, sub }
}

/** Speaks the protocol by hand, as a client that never sends credentials, and returns what the server said. */
function rawSession(lines: string[]): Promise<string> {
  const { hostname, port } = new URL(natsUrl())
  return new Promise((resolve, reject) => {
    let text = ''
    const socket = netConnect({ host: hostname, port: Number(port) })
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      text += chunk
      if (text.startsWith('INFO')) socket.write(lines.map((l) => `${l}\r\n`).join(''))
    })
    socket.on('error', reject)
    socket.on('close', () => {
      resolve(text)
    })
    setTimeout(() => {
      socket.destroy()
    }, 5_000).unref()
  })
}

describe('who may connect', () => {
  it('refuses a client without credentials', async () => {
    await expect(connect({ servers: natsUrl(), reconnect: false })).rejects.toThrow(
      /authorization violation/i,
    )
  })

  it('refuses a protocol-level subscribe and publish without credentials, and closes the connection', async () => {
    const said = await rawSession([
      'CONNECT {"verbose":false,"pedantic":false}',
      'SUB procstream.live.> 1',
      'PUB procstream.control.acme.all 2',
      '{}',
      'PING',
    ])
    expect(said).toMatch(/-ERR 'Authorization Violation'/)
    // Nothing after the refusal: no PONG, so neither the SUB nor the PUB was taken.
    expect(said).not.toMatch(/PONG/)
    expect(said).not.toMatch(/MSG /)
  })

  it('refuses a wrong password, for the service user and a tenant user alike', async () => {
    const s = serviceNatsConfig()
    await expect(
      connect({ servers: s.url, user: s.user, pass: `${s.password}x`, reconnect: false }),
    ).rejects.toThrow(/authorization violation/i)
    await expect(
      connect({ servers: s.url, user: 'tenant-acme', pass: s.password, reconnect: false }),
    ).rejects.toThrow(/authorization violation/i)
    await expect(
      connect({ servers: s.url, user: 'tenant-nosuch', pass: 'anything-at-all', reconnect: false }),
    ).rejects.toThrow(/authorization violation/i)
  })
})

describe("a tenant's credential", () => {
  it("receives its own live points and none of another tenant's, even through a wildcard", async () => {
    const wildcard = collect(acme, 'procstream.live.>')
    const direct = collect(acme, 'procstream.live.globex.>')
    const own = collect(acme, 'procstream.live.acme.>')
    await acme.flush()
    service.publish('procstream.live.globex.web-1', 'globex-point')
    service.publish('procstream.live.acme.web-1', 'acme-point')
    await service.flush()
    await waitFor('acme’s own point', () => Promise.resolve(own.got.length > 0 ? true : undefined), 5_000)
    expect(own.got).toEqual(['procstream.live.acme.web-1=acme-point'])
    // Both refused by the server: an error, and nothing of globex's ever delivered.
    await waitFor(
      'the refusals',
      () =>
        Promise.resolve(wildcard.error() !== undefined && direct.error() !== undefined ? true : undefined),
      5_000,
    )
    expect(wildcard.error()).toMatch(/permissions violation/i)
    expect(direct.error()).toMatch(/permissions violation/i)
    expect([...wildcard.got, ...direct.got, ...own.got].join()).not.toContain('globex-point')
    own.sub.unsubscribe()
  })

  it('cannot read the reply inboxes of other clients', async () => {
    const inboxes = collect(acme, '_INBOX.>')
    await waitFor('the refusal', () => Promise.resolve(inboxes.error()), 5_000)
    expect(inboxes.error()).toMatch(/permissions violation/i)
  })

  it("cannot publish to another tenant's control subjects, nor forge live points", async () => {
    const globexControl = collect(service, 'procstream.control.globex.>')
    const live = collect(service, 'procstream.live.>')
    const acmeControl = collect(service, 'procstream.control.acme.>')
    await service.flush()
    acme.publish('procstream.control.globex.all', '{"interval_ms":10}')
    acme.publish('procstream.control.globex.host.web-1', '{"interval_ms":10}')
    acme.publish('procstream.live.acme.web-1', 'forged')
    // Messages of one connection arrive in order: once this one is in, the ones above had their chance.
    acme.publish('procstream.control.acme.all', 'sentinel')
    await acme.flush()
    await waitFor('the sentinel', () => Promise.resolve(acmeControl.got.length > 0 ? true : undefined), 5_000)
    expect(acmeControl.got).toEqual(['procstream.control.acme.all=sentinel'])
    expect(globexControl.got).toEqual([])
    expect(live.got).toEqual([])
    for (const c of [globexControl, live, acmeControl]) c.sub.unsubscribe()
  })

  it('sends control requests to its own agents and gets their replies in its own inboxes', async () => {
    const agent = await connectTenant('acme', 'it-nats-auth-agent')
    opened.push(agent)
    // An agent answers on whatever reply subject a request carries: allow_responses, not _INBOX.>.
    agent.subscribe('procstream.control.acme.host.h1', {
      callback: (err, msg) => {
        if (!err) msg.respond('applied')
      },
    })
    await agent.flush()
    const reply = await acme.request('procstream.control.acme.host.h1', '{}', { timeout: 2_000 })
    expect(reply.string()).toBe('applied')
    expect(reply.subject.startsWith('_INBOX.tenant-acme.')).toBe(true)
    // The service user (the query API, an operator's tools) reaches it too, on its own inboxes.
    const fromService = await service.request('procstream.control.acme.host.h1', '{}', { timeout: 2_000 })
    expect(fromService.string()).toBe('applied')
  })
})
