import { describe, expect, it } from 'vitest'
import type { Envelope } from '#schemas/src/families.ts'
import type { AgentSample } from '#schemas/src/records.ts'
import { AgentStates, FORGET_AFTER_MS, LATE_AFTER_MS } from './agent-states.ts'

const NOW = 1_700_000_000_000

function envelope(host: string, sampledMs: number, spool?: number): Envelope {
  const base = {
    tenant: 't',
    host_id: host,
    hostname: host,
    agent_id: `a-${host}`,
    seq: 1,
    ts_us: sampledMs * 1000,
    interval_ms: 1000,
  }
  if (spool === undefined)
    return { ...base, sample: { family: 'load', data: { load1: 0, load5: 0, load15: 0 } } } as Envelope
  return { ...base, sample: { family: 'agent', data: { spool_records: spool } as AgentSample } }
}

describe('AgentStates', () => {
  it('counts agents that are current, behind, silent or spooling, without keeping their names anywhere visible', () => {
    const s = new AgentStates()
    s.observe('t', envelope('fresh', NOW - 200), NOW)
    s.observe('t', envelope('behind', NOW - LATE_AFTER_MS - 1), NOW)
    s.observe('t', envelope('spool', NOW - 100, 40), NOW)
    s.observe('t', envelope('quiet', NOW - 60_000), NOW - 30_000)
    expect(s.counts(NOW)).toEqual({ reporting: 4, late: 2, silent: 1, spooling: 1 })
    // Its spool drained: the next agent record says so.
    s.observe('t', envelope('spool', NOW, 0), NOW)
    expect(s.counts(NOW).spooling).toBe(0)
  })

  it('forgets agents gone quiet past FORGET_AFTER_MS, and all of them after a rebalance', () => {
    const s = new AgentStates()
    s.observe('t', envelope('h', NOW), NOW)
    expect(s.counts(NOW + FORGET_AFTER_MS + 1).reporting).toBe(0)
    s.observe('t', envelope('h', NOW), NOW)
    s.reset()
    expect(s.counts(NOW).reporting).toBe(0)
  })
})
