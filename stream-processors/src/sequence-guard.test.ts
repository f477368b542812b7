import { describe, expect, it } from 'vitest'
import type { Envelope } from '#schemas/src/families.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { agentKey, SequenceGuard, type AgentRef } from './sequence-guard.ts'

const env = (agent: string, seq: number): Envelope =>
  loadEnvelope({ tenant: 't', host_id: `h-${agent}`, agent_id: agent, seq })

describe('SequenceGuard', () => {
  it('drops what is at or below the highest stored seq, looking each agent up once per generation', async () => {
    const lookups: AgentRef[][] = []
    const stored = new Map([['a', 4]])
    const guard = new SequenceGuard((agents) => {
      lookups.push(agents)
      return Promise.resolve(
        new Map(
          agents.filter((x) => stored.has(x.agentId)).map((x) => [agentKey(x), stored.get(x.agentId) ?? -1]),
        ),
      )
    })
    const first = [env('a', 3), env('a', 4), env('a', 5), env('b', 0), env('a', 5), env('b', 1)]
    await guard.prepare(first)
    expect(first.map((e) => guard.admit(e))).toEqual([false, false, true, true, false, true])
    expect(lookups).toEqual([
      [
        { tenant: 't', host: 'h-a', agentId: 'a' },
        { tenant: 't', host: 'h-b', agentId: 'b' },
      ],
    ])
    await guard.prepare([env('a', 6)])
    expect(lookups).toHaveLength(1) // known agents are not looked up again
    expect(guard.admit(env('a', 6))).toBe(true)

    // After a rebalance another member stored up to a:9; the guard must ask again.
    stored.set('a', 9)
    guard.reset()
    await guard.prepare([env('a', 7)])
    expect(lookups).toHaveLength(2)
    expect(guard.admit(env('a', 7))).toBe(false)
    expect(guard.admit(env('a', 10))).toBe(true)
  })

  it('keeps agents of different tenants or hosts apart even when they share an agent id', async () => {
    const stored = new Map([[agentKey({ tenant: 'globex', host: 'web-1', agentId: 'agent-1' }), 100]])
    const guard = new SequenceGuard(() => Promise.resolve(stored))
    const mine = loadEnvelope({ tenant: 'acme', host_id: 'web-1', agent_id: 'agent-1', seq: 5 })
    const theirs = loadEnvelope({ tenant: 'globex', host_id: 'web-1', agent_id: 'agent-1', seq: 5 })
    const otherHost = loadEnvelope({ tenant: 'acme', host_id: 'web-2', agent_id: 'agent-1', seq: 5 })
    await guard.prepare([mine, theirs, otherHost])
    // globex stored up to 100 under this id; acme's envelopes with the same id are not repeats.
    expect([guard.admit(mine), guard.admit(theirs), guard.admit(otherHost)]).toEqual([true, false, true])
  })
})
