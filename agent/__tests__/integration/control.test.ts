/** Live control through a real NATS server: requests to a host, a group and a tenant, and bad ones. */
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../../platform/logger.ts'
import { listenForControl, type ControlReply } from '../../src/control.ts'
import { defaultSchedule, FamilyScheduler } from '../../src/schedule.ts'

let nc: NatsConnection
let scheduler: FamilyScheduler
const ticks: string[] = []

beforeAll(async () => {
  nc = await connect({ servers: process.env.NATS_URL ?? '' })
  scheduler = new FamilyScheduler(defaultSchedule(1000), (family) => ticks.push(family))
  scheduler.start()
  listenForControl({
    nc,
    tenant: 'acme',
    hostId: 'host-a',
    agentId: 'agent-1',
    groups: ['web'],
    scheduler,
    logger: createLogger('it-control', { level: 'silent' }),
  })
  await nc.flush()
})

afterAll(async () => {
  scheduler.stop()
  await nc.drain()
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
      (await request('procstream.control.acme.all', { interval_ms: 2000 })).applied?.cpu.interval_ms,
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
