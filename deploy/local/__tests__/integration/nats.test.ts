import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, StringCodec, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ServiceError } from '#platform/errors.ts'
import { createLogger } from '#platform/logger.ts'
import { natsCredentialFor } from '#platform/nats-auth.ts'
import { findFreePortPair } from '../../ports.ts'
import { followTenants, readNatsSecret, startNats, type LocalNats } from '../../nats.ts'

/** A connection as the service user of this server (the only user it has without tenants). */
function connectAsService(nats: LocalNats): Promise<NatsConnection> {
  return connect({
    servers: nats.url,
    user: nats.credential.user,
    pass: nats.credential.password,
    name: 'it-nats',
  })
}

function connectAsTenant(nats: LocalNats, tenant: string): Promise<NatsConnection> {
  const c = natsCredentialFor(tenant, nats.secret)
  return connect({
    servers: nats.url,
    user: c.user,
    pass: c.password,
    inboxPrefix: c.inbox_prefix,
    name: 'it-nats-tenant',
  })
}

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
    nc = await connectAsService(nats)
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
    await jsm.streams.add({ name: 'IT', subjects: ['procstream.it-js.>'] })
    const js = nc.jetstream()
    const ack = await js.publish('procstream.it-js.one', sc.encode('stored'))
    expect(ack.stream).toBe('IT')
    expect(ack.seq).toBe(1)
    const msg = await jsm.streams.getMessage('IT', { seq: 1 })
    expect(sc.decode(msg.data)).toBe('stored')
  })

  it('round-trips core pub/sub', async () => {
    const sub = nc.subscribe('procstream.live.it.>', { max: 3 })
    const got: string[] = []
    const done = (async () => {
      for await (const m of sub) got.push(`${m.subject}=${sc.decode(m.data)}`)
    })()
    for (const i of [1, 2, 3]) nc.publish(`procstream.live.it.h${i}`, sc.encode(String(i)))
    await done
    expect(got).toEqual(['procstream.live.it.h1=1', 'procstream.live.it.h2=2', 'procstream.live.it.h3=3'])
  })

  it('refuses a client without credentials and one with a wrong password', async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/authorization/i)
    await expect(
      connect({
        servers: nats.url,
        user: nats.credential.user,
        pass: `${nats.credential.password}x`,
        reconnect: false,
      }),
    ).rejects.toThrow(/authorization/i)
  })

  it('keeps its secrets and configuration to its owner (mode 0600)', async () => {
    for (const file of ['nats.conf', 'nats-secret', 'service-password']) {
      expect(((await stat(join(dir, 'nats', file))).mode & 0o777).toString(8)).toBe('600')
    }
    expect(await readNatsSecret(join(dir, 'nats'))).toBe(nats.secret)
    expect(await readFile(nats.configFile, 'utf8')).toContain('"procstream"')
  })

  it('reloads for a new tenant without restarting: its credential works, a removed one stops working', async () => {
    const pid = nats.pid
    await expect(connectAsTenant(nats, 'newco')).rejects.toThrow(/authorization/i)
    expect(await nats.reload(['newco'])).toBe(true)
    const newco = await connectAsTenant(nats, 'newco')
    // Its own subjects work through the reloaded permissions.
    const sub = newco.subscribe('procstream.live.newco.>', { max: 1 })
    await newco.flush()
    nc.publish('procstream.live.newco.h1', sc.encode('hello'))
    for await (const m of sub) expect(sc.decode(m.data)).toBe('hello')
    expect(await nats.reload(['newco'])).toBe(false)
    expect(nats.pid).toBe(pid)
    await newco.close()
    expect(await nats.reload([])).toBe(true)
    await expect(connectAsTenant(nats, 'newco')).rejects.toThrow(/authorization/i)
  })

  it('follows a tenant table: a tenant added to it can log in at the next refresh', async () => {
    const table = [{ name: 'first' }]
    const logger = createLogger('it-nats', { level: 'silent' })
    const following = await followTenants(nats, { listTenants: () => Promise.resolve(table) }, 100, logger)
    try {
      await (await connectAsTenant(nats, 'first')).close()
      await expect(connectAsTenant(nats, 'second')).rejects.toThrow(/authorization/i)
      // A name the renderer refuses is left out; the others still get their users.
      table.push({ name: 'second' }, { name: 'Bad Name"' })
      const until = Date.now() + 10_000
      let second: NatsConnection | undefined
      while (second === undefined && Date.now() < until) {
        second = await connectAsTenant(nats, 'second').catch(() => undefined)
        if (second === undefined) await new Promise((r) => setTimeout(r, 100))
      }
      expect(second).toBeDefined()
      await second?.close()
      expect(await readFile(nats.configFile, 'utf8')).not.toContain('Bad Name')
    } finally {
      following.stop()
    }
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

    const before = { ...nats.credential, secret: nats.secret }
    nats = await startNats({ dataDir: join(dir, 'nats'), port, monitorPort })
    // The same secrets: credentials handed out before the restart keep working.
    expect({ ...nats.credential, secret: nats.secret }).toEqual(before)
    nc = await connectAsService(nats)
    const jsm = await nc.jetstreamManager()
    const info = await jsm.streams.info('IT')
    expect(info.state.messages).toBe(1)
  })
})
