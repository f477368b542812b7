import type { Envelope } from '#schemas/src/families.ts'

/** A small valid envelope (a load sample) for tests that care about its identity fields, not its values. */
export function loadEnvelope(over: Partial<Envelope> = {}, load1 = 0.5): Envelope {
  return {
    tenant: 'acme',
    host_id: 'web-1',
    hostname: 'web-1',
    agent_id: 'agent-a',
    seq: 0,
    ts_us: 1_795_000_000_000_000,
    interval_ms: 1000,
    sample: {
      family: 'load',
      data: { load1, load5: 0.25, load15: 0.125, threads_running: 1, threads_total: 100, last_pid: 42 },
    },
    ...over,
  }
}
