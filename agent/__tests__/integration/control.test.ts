/**
 * Live control through a real NATS server that requires credentials: the agent holds tenant acme's,
 * the requester the service user's. Requests to a host, a group and a tenant, bad ones, and what a
 * tenant credential may not do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { connectNats } from '#platform/nats-client.ts'
import { connectService, connectTenant, natsUrl, tenantNatsCredential } from '#test/support/nats.ts'
import { waitFor } from '#test/support/wait-for.ts'
import { readAgentConfig } from '../../src/config.ts'
import { listenForControl } from '../../src/control.ts'
import type { ControlReply } from '#schemas/src/control.ts'
import { defaultSchedule, FamilyScheduler } from '../../src/schedule.ts'

let nc: NatsConnection
let agentNc: NatsConnection
let scheduler: FamilyScheduler
const ticks: string[] = []
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'procstream-control-it-'))
  nc = await connectService('it-control-requester')
  // The agent's own path: its configuration reads the credential file, and the tenant comes from it.
  const credentialFile = join(dir, 'acme.json')
  writeFileSync(credentialFile, JSON.stringify(tenantNatsCredential('acme')), { mode: 0o600 })
  const config = readAgentConfig([], { NATS_URL: natsUrl(), NATS_CREDENTIALS_FILE: credentialFile })
  if (config === 'help' || config.nats === undefined) throw new Error('the agent read no NATS credential')
  agentNc = await connectNats(config.nats, 'it-control-agent')
  scheduler = new FamilyScheduler(defaultSchedule(1000), (family) => ticks.push(family))
  scheduler.start()
  listenForControl({
    nc: agentNc,
    tenant: config.nats.tenant,
    hostId: 'host-a',
    agentId: 'agent-1',
    groups: ['web'],
    scheduler,
    logger: createLogger('it-control', { level: 'silent' }),
  })
  await agentNc.flush()
})

afterAll(async () => {
  scheduler.stop()
  await nc.drain()
  await agentNc.drain()
  rmSync(dir, { recursive: true, force: true })
})

async function request(subject: string, body: unknown): Promise<ControlReply> {
  const msg = await nc.request(subject, Buffer.from(JSON.stringify(body)), { timeout: 2000 })
  return JSON.parse(Buffer.from(msg.data).toString('utf8')) as ControlReply
}

describe('agent control over NATS', () => {
  it('applies a host request and replies with the schedule in force', async () => {
    const reply = await request('procstream.control.acme.host.host-a', {
      families: { cpu: { interval_ms: 50 } },
    })
    expect(reply.host_id).toBe('host-a')
    expect(reply.applied?.cpu).toEqual({ enabled: true, interval_ms: 50 })
    expect(reply.applied?.memory).toEqual({ enabled: true, interval_ms: 1000 })
    ticks.length = 0
    await new Promise((r) => setTimeout(r, 1000))
    // 50 ms cpu ticks against 1 s memory ticks over the same second.
    expect(ticks.filter((f) => f === 'cpu').length).toBeGreaterThanOrEqual(15)
    expect(ticks.filter((f) => f === 'memory').length).toBeLessThanOrEqual(2)
  })

  it('answers on its group and tenant subjects, not on another host of the tenant or another tenant', async () => {
    expect(
      (await request('procstream.control.acme.group.web', { families: { disk: { enabled: false } } })).applied
        ?.disk,
    ).toEqual({
      enabled: false,
      interval_ms: 1000,
    })
    expect(
      (await request('procstream.control.acme.all', { interval_ms: 2000 })).applied?.cpu?.interval_ms,
    ).toBe(2000)
    await expect(request('procstream.control.acme.host.host-b', { interval_ms: 100 })).rejects.toThrow()
    await expect(request('procstream.control.other.host.host-a', { interval_ms: 100 })).rejects.toThrow()
  })

  it('rejects a bad request whole, naming the problem, and keeps the schedule', async () => {
    const before = scheduler.current()
    const reply = await request('procstream.control.acme.host.host-a', {
      interval_ms: 100,
      families: { gpu: {} },
    })
    expect(reply.error).toMatch(/unknown family "gpu"/)
    expect(reply.applied).toBeUndefined()
    expect(scheduler.current()).toEqual(before)
  })
})

describe('control and the credential’s tenant', () => {
  it('takes the tenant from the credential, and refuses a --tenant naming another', () => {
    const file = join(dir, 'acme-2.json')
    writeFileSync(file, JSON.stringify(tenantNatsCredential('acme')), { mode: 0o600 })
    const config = readAgentConfig([], { NATS_URL: natsUrl(), NATS_CREDENTIALS_FILE: file })
    expect(config !== 'help' && config.tenant).toBe('acme')
    expect(() =>
      readAgentConfig(['--tenant', 'globex'], { NATS_URL: natsUrl(), NATS_CREDENTIALS_FILE: file }),
    ).toThrow(/"globex".*tenant "acme"/)
  })

  it('a tenant credential cannot listen on another tenant’s control subjects', async () => {
    const globex = await connectTenant('globex', 'it-control-globex')
    const errors: string[] = []
    try {
      const warn: string[] = []
      const logger = createLogger('it-control-globex', {
        level: 'warn',
        destination: {
          write: (line: string) => {
            warn.push((JSON.parse(line) as { error?: string }).error ?? line)
          },
        },
      })
      const other = new FamilyScheduler(defaultSchedule(1000), () => undefined)
      listenForControl({
        nc: globex,
        tenant: 'acme',
        hostId: 'host-a',
        agentId: 'intruder',
        groups: [],
        scheduler: other,
        logger,
      })
      await globex.flush()
      // One refusal per subject: host.host-a and all.
      await waitFor('the server to refuse both subscriptions', () =>
        Promise.resolve(warn.length >= 2 ? true : undefined),
      )
      errors.push(...warn)
      // The real agent still answers alone: the intruder never got the request.
      const reply = await request('procstream.control.acme.host.host-a', { interval_ms: 1000 })
      expect(reply.agent_id).toBe('agent-1')
      expect(other.current().cpu?.intervalMs).toBe(1000)
    } finally {
      await globex.close()
    }
    expect(errors.every((e) => /permissions violation/i.test(e))).toBe(true)
  })

  it('a tenant credential cannot send control requests to another tenant’s agents', async () => {
    const globex = await connectTenant('globex', 'it-control-globex-send')
    try {
      const before = scheduler.current()
      await expect(
        globex.request('procstream.control.acme.all', Buffer.from('{"interval_ms":10}'), { timeout: 1000 }),
      ).rejects.toThrow()
      expect(scheduler.current()).toEqual(before)
      // Its own tenant's subjects are open to it.
      const own = globex.subscribe('procstream.control.globex.all', { max: 1 })
      await globex.flush()
      const mine = await connectTenant('globex', 'it-control-globex-own')
      mine.publish('procstream.control.globex.all', Buffer.from('{}'))
      await mine.flush()
      for await (const m of own) expect(m.subject).toBe('procstream.control.globex.all')
      await mine.close()
    } finally {
      await globex.close()
    }
  })
})
