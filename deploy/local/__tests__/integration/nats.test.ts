import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ServiceError } from '../../../../platform/errors.ts'
import { findFreePortPair } from '../../ports.ts'
import { startNats, type LocalNats } from '../../nats.ts'

describe('local nats-server with JetStream', () => {
  let dir: string
  let nats: LocalNats
  let nc: NatsConnection
  let port: number
  let monitorPort: number
  const sc = StringCodec()

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'procstream-nats-it-'))
    ;[port, monitorPort] = await findFreePortPair()
    nats = await startNats({ dataDir: join(dir, 'nats'), port, monitorPort })
    nc = await connect({ servers: nats.url, name: 'it-nats' })
  })

  afterAll(async () => {
    await nc.close()
    await nats.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('binds to 127.0.0.1 and answers /healthz', async () => {
    expect(nats.url).toBe(`nats://127.0.0.1:${port}`)
    const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('has JetStream enabled, storing under the data dir', async () => {
    const jsm = await nc.jetstreamManager()
    const info = await jsm.getAccountInfo()
    expect(info.limits).toBeDefined()
    await jsm.streams.add({ name: 'IT', subjects: ['it.js.>'] })
    const js = nc.jetstream()
    const ack = await js.publish('it.js.one', sc.encode('stored'))
    expect(ack.stream).toBe('IT')
    expect(ack.seq).toBe(1)
    const msg = await jsm.streams.getMessage('IT', { seq: 1 })
    expect(sc.decode(msg.data)).toBe('stored')
  })

  it('round-trips core pub/sub', async () => {
    const sub = nc.subscribe('it.live.>', { max: 3 })
    const got: string[] = []
    const done = (async () => {
      for await (const m of sub) got.push(`${m.subject}=${sc.decode(m.data)}`)
    })()
    for (const i of [1, 2, 3]) nc.publish(`it.live.h${i}`, sc.encode(String(i)))
    await done
    expect(got).toEqual(['it.live.h1=1', 'it.live.h2=2', 'it.live.h3=3'])
  })

  it('refuses a port already in use with a clear error', async () => {
    const err: unknown = await startNats({
      dataDir: join(dir, 'other'),
      port,
      monitorPort: monitorPort,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ServiceError)
    expect((err as ServiceError).code).toBe('NATS_PORT_IN_USE')
  })

  it('stops, and a restart on the same data dir keeps JetStream streams', async () => {
    await nc.close()
    await nats.stop()
    const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz`).catch(() => null)
    expect(res).toBeNull()

    nats = await startNats({ dataDir: join(dir, 'nats'), port, monitorPort })
    nc = await connect({ servers: nats.url, name: 'it-nats' })
    const jsm = await nc.jetstreamManager()
    const info = await jsm.streams.info('IT')
    expect(info.state.messages).toBe(1)
  })
})
