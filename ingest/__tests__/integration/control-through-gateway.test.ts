/**
 * Live control of an agent that holds nothing but an ingest key: the real agent process sends through
 * the real gateway and long-polls it for control; the gateway holds the NATS service credential. A
 * requester on NATS (the service user, as the query API or an operator's `nats req`) reaches the agent
 * and gets its reply; nothing of one tenant reaches another's polls, and a key of one tenant cannot
 * answer for another.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { ControlReply } from '#schemas/src/control.ts'
import { openGatewayTestbed, type GatewayTestbed } from '#test/support/gateway-testbed.ts'
import { outOfOrder, startGatewayAgent } from '#test/support/gateway-agent.ts'
import type { NodeChild } from '#test/support/node-child.ts'
import { connectService } from '#test/support/nats.ts'
import { readTopic } from '#test/support/topic.ts'
import { waitFor } from '#test/support/wait-for.ts'

const HOST_ID = `gw-control-${String(process.pid)}`
/** The gateway's poll wait, short so that "nothing arrived" is seen within the test. */
const WAIT_MS = 2000

let bed: GatewayTestbed
let requester: NatsConnection
let dir = ''
let agent: NodeChild | undefined
let acmeKey = ''
let globexKey = ''

beforeAll(async () => {
  const n = inject('nats')
  bed = await openGatewayTestbed('gw_control', {
    partitions: 1,
    env: {
      NATS_URL: n.url,
      NATS_USER: n.user,
      NATS_PASSWORD: n.password,
      INGEST_CONTROL_WAIT_MS: String(WAIT_MS),
    },
  })
  requester = await connectService('it-gw-control-requester')
  dir = await mkdtemp(join(tmpdir(), 'procstream-gw-control-'))
  acmeKey = await bed.key('acme', ['ingest'])
  globexKey = await bed.key('globex', ['ingest'])
})

afterAll(async () => {
  await agent?.kill()
  await requester.close()
  await bed.close()
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

async function request(subject: string, body: unknown, timeout = 5000): Promise<ControlReply> {
  const msg = await requester.request(subject, Buffer.from(JSON.stringify(body)), { timeout })
  return JSON.parse(Buffer.from(msg.data).toString('utf8')) as ControlReply
}

/** The NATS error code of a failed request: '503' is "no responders", nobody subscribed. */
async function failure(subject: string, body: unknown, timeout = 1000): Promise<string> {
  try {
    await request(subject, body, timeout)
    return 'answered'
  } catch (err) {
    return String((err as { code?: unknown }).code)
  }
}

async function poll(
  key: string,
  query: string,
): Promise<{ status: number; body: unknown; retryAfter: string | null }> {
  const res = await fetch(`${bed.gateway.url}/v1/control?${query}`, {
    headers: { authorization: `Bearer ${key}` },
  })
  const text = await res.text()
  return {
    status: res.status,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
    retryAfter: res.headers.get('retry-after'),
  }
}

async function postReply(key: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${bed.gateway.url}/v1/control/reply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: await res.json() }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('control through the gateway, with an ingest key only', () => {
  it('reaches the real agent from a NATS request, applies it and answers the requester', async () => {
    const started = await startGatewayAgent(bed, {
      dir,
      hostId: HOST_ID,
      tenant: 'acme',
      extraArgs: ['--groups', 'web'],
      // Nothing but the key: no NATS setting may reach the agent from the test's environment.
      env: { NATS_URL: undefined, NATS_CREDENTIALS_FILE: undefined, NATS_USER: undefined },
    })
    agent = started.agent
    // Retried until the agent's poll is subscribed at the gateway; "no responders" until then.
    const reply = await waitFor('the agent to answer through the gateway', () =>
      request(`procstream.control.acme.host.${HOST_ID}`, { families: { cpu: { interval_ms: 500 } } }),
    )
    expect(reply.host_id).toBe(HOST_ID)
    expect(reply.error).toBeUndefined()
    expect(reply.applied?.cpu).toEqual({ enabled: true, interval_ms: 500 })
    expect(reply.applied?.memory).toEqual({ enabled: true, interval_ms: 100 })
    const appliedAtUs = Date.now() * 1000

    // Its group and its tenant's `all` reach it the same way.
    const group = await waitFor('a group request', () =>
      request('procstream.control.acme.group.web', { families: { disk: { enabled: false } } }),
    )
    expect(group.agent_id).toBe(reply.agent_id)
    expect(group.applied?.disk?.enabled).toBe(false)

    // The sampling itself changed: cpu samples now come every 500 ms, memory still every 100 ms.
    const codec = envelopeCodec()
    await waitFor('cpu samples at the new interval', async () => {
      const after = (await readTopic(bed.brokers, bed.config.topic))
        .flatMap((m) => codec.decodeAll(m.value))
        .filter((e) => e.ts_us > appliedAtUs + 1_000_000)
      const cpu = after.filter((e) => e.sample.family === 'cpu')
      const memory = after.filter((e) => e.sample.family === 'memory')
      if (cpu.length < 4) return undefined
      expect(new Set(cpu.map((e) => e.interval_ms))).toEqual(new Set([500]))
      expect(new Set(memory.map((e) => e.interval_ms))).toEqual(new Set([100]))
      expect(memory.length).toBeGreaterThan(cpu.length * 3)
      return true
    })
    expect(agent.logLines().some((l) => l.msg === 'polling the gateway for control requests')).toBe(true)
  })

  it('rejects a bad request whole, with the agent’s own message, through the gateway', async () => {
    const reply = await waitFor('the agent to answer', () =>
      request(`procstream.control.acme.host.${HOST_ID}`, { interval_ms: 5 }),
    )
    expect(reply.error).toMatch(/interval_ms must be a whole number of milliseconds from 10 to 300000/)
    expect(reply.applied).toBeUndefined()
  })

  it('never hands a request for globex’s host of the same name to acme’s polls', async () => {
    // The real agent (acme, HOST_ID) is polling: globex's subject of that host has no subscriber.
    for (let i = 0; i < 5; i++)
      expect(await failure(`procstream.control.globex.host.${HOST_ID}`, { interval_ms: 2000 })).toBe('503')
    const unchanged = await waitFor('the agent to answer', () =>
      request(`procstream.control.acme.host.${HOST_ID}`, { families: { cpu: { interval_ms: 500 } } }),
    )
    expect(unchanged.applied?.memory?.interval_ms).toBe(100)

    // An acme poll of its own: every globex request during its wait finds nobody, and it ends 204.
    const twin = `twin-${String(process.pid)}`
    const polling = poll(acmeKey, `host=${twin}&groups=web`)
    const sent: string[] = []
    await sleep(300)
    for (const subject of [`host.${twin}`, 'group.web', 'all', `host.${twin}`]) {
      sent.push(await failure(`procstream.control.globex.${subject}`, { interval_ms: 2000 }))
      await sleep(200)
    }
    const ended = await polling
    expect(sent).toEqual(['503', '503', '503', '503'])
    expect(ended).toEqual({ status: 204, body: undefined, retryAfter: null })

    // The same timing does deliver a request of acme's own tenant (so the check above can fail).
    const again = poll(acmeKey, `host=${twin}`)
    await sleep(300)
    const requested = requester.request(
      `procstream.control.acme.host.${twin}`,
      Buffer.from('{"interval_ms":100}'),
      {
        timeout: 3000,
      },
    )
    const got = await again
    expect(got.status).toBe(200)
    expect(got.body).toMatchObject({ request: { interval_ms: 100 } })
    await requested.catch(() => undefined)
  })

  it('lets no key of another tenant answer a request, and the requester hears only the right agent', async () => {
    const host = `globex-host-${String(process.pid)}`
    const polling = poll(globexKey, `host=${host}`)
    await sleep(300)
    const requested = request(`procstream.control.globex.host.${host}`, { interval_ms: 100 }, 8000)
    const got = await polling
    expect(got.status).toBe(200)
    const { id, request: body } = got.body as { id: string; request: unknown }
    expect(body).toEqual({ interval_ms: 100 })

    const forged = await postReply(acmeKey, { id, reply: { host_id: host, agent_id: 'forged', applied: {} } })
    expect(forged).toEqual({
      status: 404,
      body: {
        error: expect.stringMatching(/no control request .* waits for a reply/) as unknown,
        code: 'UNKNOWN_CONTROL_ID',
      },
    })
    // Word for word the answer for an id that never existed.
    const unknown = await postReply(acmeKey, { id: 'no-such-id', reply: { host_id: host, agent_id: 'x' } })
    expect(unknown.status).toBe(404)
    expect((unknown.body as { code: string }).code).toBe('UNKNOWN_CONTROL_ID')

    const genuine = await postReply(globexKey, {
      id,
      reply: { host_id: host, agent_id: 'genuine', applied: {} },
    })
    expect(genuine).toEqual({ status: 200, body: { delivered: true } })
    // The requester's one answer is globex's: the forged reply never reached it.
    expect((await requested).agent_id).toBe('genuine')
    expect((await postReply(globexKey, { id, reply: { host_id: host, agent_id: 'again' } })).status).toBe(404)
  })

  it('refuses keys without the ingest scope, bad parameters, and answers 503 without NATS', async () => {
    const readKey = await bed.key('acme', ['read'])
    const forbidden = await poll(readKey, 'host=h')
    expect(forbidden.status).toBe(403)
    expect(forbidden.body).toMatchObject({ code: 'FORBIDDEN' })
    expect(await postReply(readKey, { id: 'x', reply: { host_id: 'h', agent_id: 'a' } })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    })
    const anonymous = await fetch(`${bed.gateway.url}/v1/control?host=h`)
    expect(anonymous.status).toBe(401)

    const bad = await poll(acmeKey, `host=${encodeURIComponent('a b')}&tenant=globex`)
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({
      code: 'BAD_PARAMETER',
      error: expect.stringMatching(/"tenant"/) as unknown,
    })
    const noJson = await fetch(`${bed.gateway.url}/v1/control/reply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acmeKey}`, 'content-type': 'application/vnd.procstream.avro' },
      body: 'x',
    })
    expect(noJson.status).toBe(415)
    expect(await noJson.json()).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      error: expect.stringMatching(/application\/json/) as unknown,
    })

    const withoutNats = await bed.startGateway({})
    const res = await fetch(`${withoutNats.url}/v1/control?host=h`, {
      headers: { authorization: `Bearer ${acmeKey}` },
    })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('60')
    expect(await res.json()).toMatchObject({ code: 'CONTROL_UNAVAILABLE' })
  })

  it('stops polling when the agent stops, having delivered its records in seq order', async () => {
    if (agent === undefined) throw new Error('the agent did not start')
    expect(await agent.stop()).toBe(0)
    const codec = envelopeCodec()
    const envelopes = (await readTopic(bed.brokers, bed.config.topic)).flatMap((m) =>
      codec.decodeAll(m.value),
    )
    expect(envelopes.length).toBeGreaterThan(0)
    expect(outOfOrder(envelopes)).toEqual([])
    const metrics = await (await fetch(`${bed.gateway.url}/metrics`)).text()
    expect(metrics).toMatch(/procstream_ingest_control_answered_total [1-9]/)
    await waitFor('the gateway to hold no poll', async () =>
      /procstream_ingest_control_polls 0\b/.test(await (await fetch(`${bed.gateway.url}/metrics`)).text())
        ? true
        : undefined,
    )
  })
})
