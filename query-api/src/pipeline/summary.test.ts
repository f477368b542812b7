import { describe, expect, it } from 'vitest'
import { parseExposition } from '#platform/prometheus-parse.ts'
import type { Scrape } from './scrape.ts'
import { nextBaseline, summarize, type Baseline } from './summary.ts'
import { parsePipelineTargets } from './targets.ts'

const T0 = 1_700_000_000_000

function scrape(name: string, atMs: number, text: string): Scrape {
  return { target: { name, url: `http://${name}:1/metrics` }, atMs, page: parseExposition(text) }
}

const gateway = (records: number, bytes: number, start = 1_699_999_000): string => `
procstream_build_info{component="gateway",version="0.1.0"} 1
process_start_time_seconds ${String(start)}
procstream_ingest_records_total ${String(records)}
procstream_ingest_bytes_total ${String(bytes)}
`

const processor = (o: { envelopes: number; fresh: number[]; lag: number[]; tiers?: number[] }): string => `
procstream_build_info{component="processor",version="0.1.0"} 1
process_start_time_seconds 1699999500
procstream_processor_envelopes_total ${String(o.envelopes)}
${o.lag.map((m, p) => `procstream_processor_consumer_lag_messages{partition="${String(p)}"} ${String(m)}`).join('\n')}
${(o.tiers ?? []).map((m, p) => `procstream_processor_tier_lag_messages{partition="${String(p)}"} ${String(m)}`).join('\n')}
procstream_processor_freshness_seconds_bucket{le="0.5"} ${String(o.fresh[0])}
procstream_processor_freshness_seconds_bucket{le="1"} ${String(o.fresh[1])}
procstream_processor_freshness_seconds_bucket{le="2"} ${String(o.fresh[2])}
procstream_processor_freshness_seconds_bucket{le="+Inf"} ${String(o.fresh[2])}
procstream_processor_dead_letters_total{reason="DECODE"} 2
procstream_processor_dead_letters_total{reason="TOO_OLD"} 5
procstream_processor_agents{state="reporting"} 4
procstream_processor_agents{state="late"} 1
procstream_processor_agents{state="silent"} 0
procstream_processor_agents{state="spooling"} 1
`

function baselinesAfter(scrapes: Scrape[], previous = new Map<string, Baseline>()): Map<string, Baseline> {
  const next = new Map(previous)
  for (const s of scrapes) {
    const b = nextBaseline(s, previous.get(s.target.name))
    if (b) next.set(s.target.name, b)
  }
  return next
}

describe('summarize', () => {
  it('says the rate comes with the next read, then gives per-second deltas against the previous one', () => {
    const first = [scrape('gw', T0, gateway(1000, 50_000))]
    const s1 = summarize(first, new Map(), T0)
    expect(s1.ingest.records).toEqual({ per_s: null, total: 1000 })
    expect(s1.ingest.note).toBe('rate available from the next refresh')
    expect(s1.components[0]).toMatchObject({ name: 'gw', up: true, component: 'gateway', version: '0.1.0' })
    expect(s1.components[0]?.uptime_s).toBe(1000)

    const second = [scrape('gw', T0 + 5_000, gateway(1500, 75_000))]
    const s2 = summarize(second, baselinesAfter(first), T0 + 5_000)
    expect(s2.ingest.records.per_s).toBe(100)
    expect(s2.ingest.bytes.per_s).toBe(5_000)
    expect(s2.ingest.window_s).toBe(5)
    expect(s2.ingest.note).toBeUndefined()
  })

  it('takes no rate across a restart (the counters started again) or a read too soon after the last', () => {
    const first = [scrape('gw', T0, gateway(1000, 50_000))]
    const restarted = [scrape('gw', T0 + 5_000, gateway(10, 500, 1_700_000_004))]
    expect(summarize(restarted, baselinesAfter(first), T0 + 5_000).ingest.records.per_s).toBeNull()
    const soon = [scrape('gw', T0 + 300, gateway(1010, 50_500))]
    const kept = baselinesAfter(soon, baselinesAfter(first))
    expect(kept.get('gw')?.atMs).toBe(T0)
  })

  it('merges the processors: the largest lag per partition, dead letters summed, agent counts summed', () => {
    const reads = [
      scrape('p1', T0, processor({ envelopes: 10, fresh: [1, 2, 2], lag: [3, 0], tiers: [7] })),
      scrape('p2', T0, processor({ envelopes: 10, fresh: [1, 2, 2], lag: [1, 9] })),
    ]
    const s = summarize(reads, new Map(), T0)
    expect(s.lag).toEqual([
      { group: 'raw', partition: 0, messages: 3 },
      { group: 'raw', partition: 1, messages: 9 },
      { group: 'tiers', partition: 0, messages: 7 },
    ])
    expect(s.dead_letters.by_reason).toEqual([
      { reason: 'TOO_OLD', count: 10 },
      { reason: 'DECODE', count: 4 },
    ])
    expect(s.agents.counts).toEqual({ reporting: 8, late: 2, silent: 0, spooling: 2 })
  })

  it('reads freshness over the envelopes stored since the previous read, else since start', () => {
    const first = [scrape('p', T0, processor({ envelopes: 100, fresh: [100, 100, 100], lag: [] }))]
    const s1 = summarize(first, new Map(), T0)
    expect(s1.freshness).toMatchObject({ window: 'since_start', observations: 100 })
    expect(s1.freshness.p50_s).toBe(0.25)
    // 100 new envelopes, all between 1 and 2 s old: the recent window shows them alone.
    const second = [scrape('p', T0 + 2_000, processor({ envelopes: 200, fresh: [100, 100, 200], lag: [] }))]
    const s2 = summarize(second, baselinesAfter(first), T0 + 2_000)
    expect(s2.freshness).toMatchObject({ window: 'recent', observations: 100, p50_s: 1.5 })
    expect(s2.freshness.p99_s).toBeCloseTo(1.99)
    expect(s2.ingest.stored_envelopes.per_s).toBe(50)
  })

  it('reports a component that did not answer as down, with its reason, and the rest as usual', () => {
    const down: Scrape = {
      target: { name: 'agent', url: 'http://agent:1/metrics' },
      atMs: T0,
      error: 'cannot connect: ECONNREFUSED',
    }
    const s = summarize([down, scrape('gw', T0, gateway(1, 1))], new Map(), T0)
    expect(s.components[0]).toEqual({
      name: 'agent',
      url: 'http://agent:1/metrics',
      up: false,
      component: null,
      version: null,
      uptime_s: null,
      error: 'cannot connect: ECONNREFUSED',
    })
    expect(s.components[1]?.up).toBe(true)
    expect(s.agents).toEqual({ counts: null, scraped: [] })
  })

  it("lists scraped agents with their spool, from the agent's own page", () => {
    const agent = scrape(
      'a',
      T0,
      `procstream_build_info{component="agent",version="0.1.0"} 1
procstream_agent_spool_records 12
procstream_agent_spool_bytes 3400
procstream_agent_send_errors_total 3
procstream_agent_ticks_late_total 1
`,
    )
    expect(summarize([agent], new Map(), T0).agents.scraped).toEqual([
      {
        name: 'a',
        spool_records: 12,
        spool_bytes: 3400,
        queued_records: null,
        send_errors: 3,
        ticks_late: 1,
        dropped_records: null,
        spooling: true,
      },
    ])
  })
})

describe('parsePipelineTargets', () => {
  it('reads name=url pairs', () => {
    expect(parsePipelineTargets(' gw=http://10.0.0.1:8081/metrics , p-1=https://p:9465/metrics')).toEqual({
      targets: [
        { name: 'gw', url: 'http://10.0.0.1:8081/metrics' },
        { name: 'p-1', url: 'https://p:9465/metrics' },
      ],
      problems: [],
    })
    expect(parsePipelineTargets(undefined)).toEqual({ targets: [], problems: [] })
  })

  it('names each bad entry without echoing credentials', () => {
    const { targets, problems } = parsePipelineTargets(
      'gw=http://u:secret@h/metrics,gw=http://h/metrics,Bad=http://h,x=file:///etc/passwd,y=nope,z',
    )
    expect(targets).toEqual([])
    expect(problems).toHaveLength(6)
    expect(problems.join('\n')).not.toContain('secret')
    expect(problems[0]).toBe('QUERY_PIPELINE_TARGETS gw: credentials do not belong in the URL')
    expect(problems[1]).toBe('QUERY_PIPELINE_TARGETS names gw twice')
  })
})
