/**
 * GET /api/live against the suite's real NATS: two tenants with hosts of the same names, points
 * published on the subjects the processors use, and what each key's stream receives. A client that
 * stops reading is dropped (its slot comes back), never buffered for without bound.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClickHouse } from '#platform/clickhouse.ts'
import { createLogger } from '#platform/logger.ts'
import { liveSubject, type LiveMessage } from '#schemas/src/live.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { waitFor } from '#test/support/wait-for.ts'
import { connectService } from '#test/support/nats.ts'
import { buildQueryApi } from '../../src/server.ts'

const logger = createLogger('it-live', { level: 'error' })
let dir = ''
let clickhouse: ClickHouseClient
let nc: NatsConnection
let app: FastifyInstance
let url = ''
const key = { acme: '', globex: '', acmeIngest: '' }
const encoder = new TextEncoder()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'procstream-it-live-'))
  clickhouse = await createClickHouse({
    url: undefined,
    user: 'default',
    password: '',
    database: 'live',
    embeddedPath: dir,
  })
  nc = await connectService('it-live')
  const { auth, keys } = await memoryKeys([
    { tenant: 'acme', scopes: ['read'] },
    { tenant: 'globex', scopes: ['read'] },
    { tenant: 'acme', scopes: ['ingest'] },
  ])
  ;[key.acme, key.globex, key.acmeIngest] = keys as [string, string, string]
  app = await buildQueryApi({
    clickhouse,
    database: 'live',
    keys: auth,
    readiness: [],
    logger,
    maxPoints: 1000,
    live: { nats: nc, maxBufferedBytes: 64 * 1024, maxStreamsPerTenant: 3 },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })

  const address = app.server.address()
  url = `http://127.0.0.1:${String(typeof address === 'object' && address ? address.port : 0)}`
})

afterAll(async () => {
  await app.close()
  await nc.drain()
  await clickhouse.close()
  rmSync(dir, { recursive: true, force: true })
})

function publish(tenant: string, host: string, metric: string, value: number): void {
  const m: LiveMessage = { tenant, host, points: [[metric, '{}', Date.now() * 1000, value]] }
  nc.publish(liveSubject(tenant, host), encoder.encode(JSON.stringify(m)))
}

interface OpenStream {
  events: { host: string; points: LiveMessage['points'] }[]
  close(): void
}

/** An open stream: every `data:` event parsed, in order. */
async function stream(query: string, apiKey: string): Promise<OpenStream> {
  const s = await tryStream(query, apiKey)
  expect(s).toBeDefined()
  return s as OpenStream
}

/** A stream if the route opens one (200), else undefined. */
async function tryStream(query: string, apiKey: string): Promise<OpenStream | undefined> {
  const abort = new AbortController()
  const res = await fetch(`${url}/api/live${query}`, {
    headers: { authorization: `Bearer ${apiKey}` },
    signal: abort.signal,
  })
  if (res.status !== 200) {
    await res.body?.cancel()
    return undefined
  }
  expect(res.headers.get('content-type')).toContain('text/event-stream')
  const events: { host: string; points: LiveMessage['points'] }[] = []
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        buffered += decoder.decode(value, { stream: true })
        let end
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          if (block.startsWith('data: '))
            events.push(JSON.parse(block.slice(6)) as { host: string; points: LiveMessage['points'] })
        }
      }
    } catch {
      // aborted by close()
    }
  })()
  return {
    events,
    close: () => {
      abort.abort()
    },
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('GET /api/live', () => {
  it('streams each tenant only its own points, whatever host is asked for', async () => {
    const acmeWeb = await stream('?host=web-1', key.acme)
    const acmeAll = await stream('', key.acme)
    const globexAll = await stream('?metric=node_load1', key.globex)
    // Host names that are NATS wildcards are names, not patterns: nothing of other hosts arrives.
    const wildcard = await stream('?host=%3E', key.acme)
    await sleep(200) // the subscriptions reach the server
    for (let i = 0; i < 3; i++) {
      publish('acme', 'web-1', 'node_load1', 1 + i)
      publish('acme', 'db-1', 'node_load1', 10 + i)
      publish('globex', 'web-1', 'node_load1', 100 + i)
      publish('globex', 'web-1', 'node_memory_MemFree_bytes', 7)
    }
    await waitFor('the events to arrive', () =>
      Promise.resolve(
        acmeWeb.events.length >= 3 && acmeAll.events.length >= 6 && globexAll.events.length >= 3
          ? true
          : undefined,
      ),
    )
    await sleep(300)
    const values = (events: { points: LiveMessage['points'] }[]): number[] =>
      events.flatMap((e) => e.points.map((p) => p[3]))
    expect(values(acmeWeb.events)).toEqual([1, 2, 3])
    expect(new Set(acmeWeb.events.map((e) => e.host))).toEqual(new Set(['web-1']))
    expect(values(acmeAll.events).sort((a, b) => a - b)).toEqual([1, 2, 3, 10, 11, 12])
    // globex's stream: its own web-1 only, and only the metric it asked for.
    expect(values(globexAll.events)).toEqual([100, 101, 102])
    expect(wildcard.events).toEqual([])
    for (const s of [acmeWeb, acmeAll, globexAll, wildcard]) s.close()
  })

  it('answers a missing key 401, a key without the read scope 403, a bad host 400, in JSON', async () => {
    const none = await fetch(`${url}/api/live`)
    expect(none.status).toBe(401)
    expect(await none.json()).toMatchObject({ code: 'UNAUTHENTICATED' })
    const ingest = await fetch(`${url}/api/live`, { headers: { authorization: `Bearer ${key.acmeIngest}` } })
    expect(ingest.status).toBe(403)
    const bad = await fetch(`${url}/api/live?host=${'x'.repeat(300)}`, {
      headers: { authorization: `Bearer ${key.acme}` },
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ code: 'BAD_REQUEST' })
  })

  it('drops a client that stops reading, and gives its slot back', { timeout: 60_000 }, async () => {
    // Wait for the first test's streams to be gone: the tenant may hold 3.
    const held: { close(): void }[] = []
    // Two readers that keep up, once the earlier tests' streams are gone (the tenant may hold 3).
    await waitFor('earlier streams to close', async () => {
      const s = await tryStream('?host=quiet', key.acme)
      if (s) held.push(s)
      return held.length >= 2 ? true : undefined
    })
    // The third: a raw socket that sends the request and then never reads.
    const socket = netConnect(Number(new URL(url).port), '127.0.0.1')
    await new Promise<void>((r) =>
      socket.once('connect', () => {
        r()
      }),
    )
    socket.write(`GET /api/live?host=busy HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key.acme}\r\n\r\n`)
    socket.pause()
    await sleep(300)
    const full = await fetch(`${url}/api/live?host=busy`, {
      headers: { authorization: `Bearer ${key.acme}` },
    })
    expect(full.status).toBe(429)
    expect(await full.json()).toMatchObject({ code: 'TOO_MANY_STREAMS' })

    // Points for the stalled client from a connection of their own (as a processor publishes): far
    // more than socket buffers absorb, where the route allows a backlog of 64 KiB.
    const publisher = await connectService('it-live')
    const big: LiveMessage = {
      tenant: 'acme',
      host: 'busy',
      points: Array.from(
        { length: 4000 },
        (_, i) => ['node_load1', '{}', i, i] as LiveMessage['points'][number],
      ),
    }
    const payload = encoder.encode(JSON.stringify(big))
    let again: OpenStream | undefined
    try {
      for (let round = 0; round < 100 && !again; round++) {
        for (let i = 0; i < 10; i++) publisher.publish(liveSubject('acme', 'busy'), payload)
        await publisher.flush()
        await sleep(50)
        // The stalled stream's slot comes back once the route has dropped it.
        again = await tryStream('?host=quiet', key.acme)
      }
    } finally {
      await publisher.drain()
      socket.destroy()
    }
    expect(again).toBeDefined()
    for (const s of [...held, again]) s?.close()
  })
})
