import { describe, expect, it } from 'vitest'
import { appendEnvelopeRows, canonicalLabels, microsToDateTime64, newRowBatch } from './rows.ts'

describe('rows', () => {
  it('formats microsecond timestamps exactly', () => {
    expect(microsToDateTime64(1_795_000_000_000_001)).toBe('1795000000.000001')
    expect(microsToDateTime64(1_795_000_000_999_999)).toBe('1795000000.999999')
  })

  it('spells one label set one way whatever the key order', () => {
    expect(canonicalLabels({ mode: 'user', cpu: '0' })).toBe(canonicalLabels({ cpu: '0', mode: 'user' }))
    expect(canonicalLabels({})).toBe('{}')
  })

  it('turns a load envelope into node_exporter rows plus one sample-log row, dropping non-finite values', () => {
    const batch = newRowBatch()
    appendEnvelopeRows(
      batch,
      {
        tenant: 'ignored-by-caller',
        host_id: 'h1',
        hostname: 'web',
        agent_id: 'a1',
        seq: 7,
        ts_us: 1_795_000_000_500_000,
        interval_ms: 1000,
        sample: {
          family: 'load',
          data: {
            load1: 1.5,
            load5: Number.NaN,
            load15: 0.5,
            threads_running: 1,
            threads_total: 2,
            last_pid: 3,
          },
        },
      },
      'acme',
      { partition: 2, offset: '41' },
    )
    const byName = Object.fromEntries(batch.raw.map((r) => [r[1], r]))
    expect(byName.node_load1).toEqual(['acme', 'node_load1', 'h1', '{}', '1795000000.500000', 1.5])
    expect(byName.node_load5).toBeUndefined()
    expect(batch.nonFinite).toBe(1)
    expect(batch.log).toEqual([
      ['acme', 'h1', 'web', 'a1', 7, 'load', '1795000000.500000', batch.raw.length, 2, '41'],
    ])
  })
})
