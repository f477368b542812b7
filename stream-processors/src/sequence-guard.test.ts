import { describe, expect, it } from 'vitest'
import type { Envelope } from '../../schemas/src/families.ts'
import { loadEnvelope } from '../../test/support/envelopes.ts'
import { SequenceGuard, type AgentRef } from './sequence-guard.ts'

const env = (agent: string, seq: number): Envelope =>
  loadEnvelope({ tenant: 't', host_id: `h-${agent}`, agent_id: agent, seq })

describe('SequenceGuard', () => {
  it('drops what is at or below the highest stored seq, looking each agent up once per generation', async () => {
    const lookups: AgentRef[][] = []
    const stored = new Map([['a', 4]])
    const guard = new SequenceGuard((agents) => {
      lookups.push(agents)
      return Promise.resolve(new Map([...stored].filter(([id]) => agents.some((x) => x.agentId === id))))
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
})
