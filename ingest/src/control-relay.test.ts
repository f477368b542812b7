import type { Msg, NatsConnection } from 'nats'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { ControlRelay, parseControlQuery, parseControlReply } from './control-relay.ts'
import { IngestError } from './errors.ts'

function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (err) {
    return err instanceof IngestError ? `${String(err.statusCode)} ${err.code}` : String(err)
  }
  return undefined
}

describe('GET /v1/control parameters', () => {
  it('takes a host and a comma-separated list of groups, repeated groups once', () => {
    expect(parseControlQuery({ host: 'web-1.example.com', groups: 'eu,db,eu' })).toEqual({
      host: 'web-1.example.com',
      groups: ['eu', 'db'],
    })
    expect(parseControlQuery({ host: 'h', groups: '' })).toEqual({ host: 'h', groups: [] })
    expect(parseControlQuery({ host: 'h' })).toEqual({ host: 'h', groups: [] })
  })

  it.each([
    [{}, /host is required/],
    [{ host: ['a', 'b'] }, /host must be given once/],
    [{ host: 'h', groups: ['a', 'b'] }, /groups must be given once/],
    [{ host: 'h', tenant: 'globex' }, /unknown parameter\(s\) "tenant".*the tenant comes from the key/],
    [{ host: '' }, /host must not be empty/],
    [{ host: 'a b' }, /printable ASCII/],
    [{ host: 'x'.repeat(254) }, /at most 253/],
    [{ host: 'h', groups: 'a,,b' }, /group must not be empty/],
    [{ host: 'h', groups: Array.from({ length: 17 }, (_, i) => `g${String(i)}`).join(',') }, /at most 16/],
    [{ host: 'h', groups: 'y'.repeat(65) }, /at most 64/],
  ])('refuses %j with 400 BAD_PARAMETER', (query, message) => {
    expect(codeOf(() => parseControlQuery(query))).toBe('400 BAD_PARAMETER')
    expect(() => parseControlQuery(query)).toThrow(message)
  })
})

describe('POST /v1/control/reply body', () => {
  const reply = { host_id: 'h', agent_id: 'a', applied: {} }
  it('takes an id and the agent’s reply', () => {
    expect(parseControlReply({ id: 'x', reply })).toEqual({ id: 'x', reply })
  })
  it.each([
    [null, /JSON object/],
    [[1], /JSON object/],
    [{ id: 'x', reply, tenant: 'globex' }, /unknown field\(s\) tenant/],
    [{ reply }, /id must be/],
    [{ id: '', reply }, /id must be/],
    [{ id: 'x' }, /reply must be/],
    [{ id: 'x', reply: 'ok' }, /reply must be/],
    [{ id: 'x', reply: { agent_id: 'a' } }, /host_id and agent_id/],
  ])('refuses %j with 400 BAD_REPLY', (body, message) => {
    expect(codeOf(() => parseControlReply(body))).toBe('400 BAD_REPLY')
    expect(() => parseControlReply(body)).toThrow(message)
  })
})

/** Just enough of a NATS connection: subscriptions by subject, and a way to publish a request. */
class FakeNats {
  readonly subs = new Map<string, Set<(err: null, msg: Msg) => void>>()
  responses: { reply: string; data: string }[] = []

  subscribe(subject: string, o: { callback: (err: null, msg: Msg) => void }): { unsubscribe(): void } {
    const set = this.subs.get(subject) ?? new Set()
    this.subs.set(subject, set)
    set.add(o.callback)
    return { unsubscribe: () => set.delete(o.callback) }
  }

  isClosed(): boolean {
    return false
  }

  subscribed(): string[] {
    return [...this.subs].filter(([, s]) => s.size > 0).map(([subject]) => subject)
  }

  /** Delivers like the server; false when nobody listened (NATS's "no responders"). */
  request(subject: string, body: unknown, reply = `_INBOX.${subject}`): boolean {
    const listeners = [...(this.subs.get(subject) ?? [])]
    const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))
    const msg = {
      subject,
      data,
      reply,
      respond: (d: Uint8Array) => {
        this.responses.push({ reply, data: Buffer.from(d).toString('utf8') })
        return true
      },
    } as unknown as Msg
    for (const l of listeners) l(null, msg)
    return listeners.length > 0
  }
}

const logger = createLogger('control-relay-test', { level: 'silent' })
const limits = { waitMs: 200, replyWaitMs: 300, maxPolls: 3, tenantMaxPolls: 2 }
let relays: ControlRelay[] = []
afterEach(() => {
  for (const r of relays) r.close()
  relays = []
})

function relay(nats: FakeNats | undefined, l = limits): ControlRelay {
  const r = new ControlRelay(l, logger, nats !== undefined)
  if (nats) r.attach(nats as unknown as NatsConnection)
  relays.push(r)
  return r
}

const never = new AbortController().signal
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5))

describe('ControlRelay', () => {
  it('subscribes to exactly the agent’s subjects under the key’s tenant, and hands over the first request', async () => {
    const nats = new FakeNats()
    const r = relay(nats)
    const polling = r.poll('acme', 'web.1', ['eu', 'eu'], never)
    expect(nats.subscribed().sort()).toEqual([
      'procstream.control.acme.all',
      'procstream.control.acme.group.eu',
      'procstream.control.acme.host.web_1',
    ])
    expect(nats.request('procstream.control.globex.host.web_1', { interval_ms: 100 })).toBe(false)
    expect(nats.request('procstream.control.acme.group.eu', { interval_ms: 100 })).toBe(true)
    const got = await polling
    expect(got?.request).toEqual({ interval_ms: 100 })
    expect(got?.id).toMatch(/^[A-Za-z0-9_-]{24}$/)
    // The poll is over: nothing is subscribed any more.
    expect(nats.subscribed()).toEqual([])
    expect(r.stats).toMatchObject({ polls: 0, held: 1, delivered: 1 })
  })

  it('answers the requester with the reply, once, and only for a key of the same tenant', async () => {
    const nats = new FakeNats()
    const r = relay(nats)
    const polling = r.poll('acme', 'h', [], never)
    nats.request('procstream.control.acme.all', { interval_ms: 100 })
    const { id } = (await polling) ?? { id: '' }
    const reply = { host_id: 'h', agent_id: 'a', applied: {} }
    const asGlobex = codeOf(() => r.answer('globex', id, reply))
    const unknown = codeOf(() => r.answer('acme', 'no-such-id', reply))
    expect(asGlobex).toBe('404 UNKNOWN_CONTROL_ID')
    expect(unknown).toBe('404 UNKNOWN_CONTROL_ID')
    expect(() => r.answer('globex', id, reply)).toThrow(/no control request "[^"]+" waits for a reply/)
    expect(nats.responses).toEqual([])
    expect(codeOf(() => r.answer('acme', id, { ...reply, host_id: 'other' }))).toBe('400 BAD_REPLY')
    expect(r.answer('acme', id, reply)).toBe(true)
    expect(nats.responses).toEqual([
      { reply: '_INBOX.procstream.control.acme.all', data: JSON.stringify(reply) },
    ])
    expect(codeOf(() => r.answer('acme', id, reply))).toBe('404 UNKNOWN_CONTROL_ID')
  })

  it('ends a poll with nothing after the wait, or when the agent hangs up', async () => {
    const nats = new FakeNats()
    const r = relay(nats)
    const started = Date.now()
    expect(await r.poll('acme', 'h', [], never)).toBeUndefined()
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    const gone = new AbortController()
    const polling = r.poll('acme', 'h', [], gone.signal)
    gone.abort()
    expect(await polling).toBeUndefined()
    expect(nats.subscribed()).toEqual([])
    expect(r.stats.polls).toBe(0)
  })

  it('answers a request that is not JSON itself and goes on waiting', async () => {
    const nats = new FakeNats()
    const r = relay(nats)
    const polling = r.poll('acme', 'h', [], never)
    nats.request('procstream.control.acme.all', 'not json')
    expect(nats.responses).toEqual([
      { reply: '_INBOX.procstream.control.acme.all', data: '{"host_id":"h","error":"request is not JSON"}' },
    ])
    expect(nats.subscribed().length).toBe(2)
    nats.request('procstream.control.acme.all', { interval_ms: 50 })
    expect((await polling)?.request).toEqual({ interval_ms: 50 })
  })

  it('bounds polls per tenant (429) and in all (503), and forgets unanswered requests', async () => {
    const nats = new FakeNats()
    const r = relay(nats)
    const polls = [r.poll('acme', 'a', [], never), r.poll('acme', 'b', [], never)]
    await expect(r.poll('acme', 'c', [], never)).rejects.toMatchObject({
      code: 'TOO_MANY_POLLS',
      retryAfterS: 5,
    })
    polls.push(r.poll('globex', 'a', [], never))
    await expect(r.poll('other', 'a', [], never)).rejects.toMatchObject({
      code: 'CONTROL_BUSY',
      retryAfterS: 5,
    })
    // Two requests handed out and not answered keep acme's count at its bound after its polls end.
    nats.request('procstream.control.acme.all', { interval_ms: 100 })
    await Promise.all(polls)
    expect(r.stats).toMatchObject({ polls: 0, held: 2 })
    await expect(r.poll('acme', 'c', [], never)).rejects.toMatchObject({ code: 'TOO_MANY_POLLS' })
    await new Promise((done) => setTimeout(done, 350))
    expect(r.stats).toMatchObject({ held: 0, expired: 2 })
    const again = r.poll('acme', 'c', [], never)
    await tick()
    expect(r.stats.polls).toBe(1)
    await again
  })

  it('refuses to poll without NATS, and ends polls in flight when it closes', async () => {
    await expect(relay(undefined).poll('acme', 'h', [], never)).rejects.toMatchObject({
      code: 'CONTROL_UNAVAILABLE',
      statusCode: 503,
      retryAfterS: 60,
    })
    const nats = new FakeNats()
    const r = relay(nats, { ...limits, waitMs: 10_000 })
    const polling = r.poll('acme', 'h', [], never)
    r.close()
    await expect(polling).rejects.toMatchObject({ code: 'CONTROL_UNAVAILABLE', retryAfterS: 1 })
    expect(nats.subscribed()).toEqual([])
    await expect(r.poll('acme', 'h', [], never)).rejects.toMatchObject({ code: 'CONTROL_UNAVAILABLE' })
  })
})
