import { describe, expect, it } from 'vitest'
import type { Envelope } from '#schemas/src/families.ts'
import {
  appendEnvelopeRows,
  dateTime64ToMicros,
  canonicalLabels,
  microsToDateTime64,
  newRowBatch,
  widePoints,
} from './rows.ts'

describe('rows', () => {
  it('formats microsecond timestamps exactly', () => {
    expect(microsToDateTime64(1_795_000_000_000_001)).toBe('1795000000.000001')
    expect(microsToDateTime64(1_795_000_000_999_999)).toBe('1795000000.999999')
    for (const us of [1_795_000_000_000_001, 1_795_000_000_999_999, 0])
      expect(dateTime64ToMicros(microsToDateTime64(us))).toBe(us)
  })

  it('spells one label set one way whatever the key order', () => {
    expect(canonicalLabels({ mode: 'user', cpu: '0' })).toBe(canonicalLabels({ cpu: '0', mode: 'user' }))
    expect(canonicalLabels({})).toBe('{}')
    // Prometheus's rule: an empty value is no label at all.
    expect(canonicalLabels({ devices: '', cpu: '0' })).toBe('{"cpu":"0"}')
    expect(canonicalLabels({ devices: '' })).toBe('{}')
  })

  it('turns a load envelope into node_exporter rows plus one sample-log row, or nothing if a value is not finite', () => {
    const batch = newRowBatch()
    const env = (load5: number): Envelope => ({
      tenant: 'ignored-by-caller',
      host_id: 'h1',
      hostname: 'web',
      agent_id: 'a1',
      seq: 7,
      ts_us: 1_795_000_000_500_000,
      interval_ms: 1000,
      sample: {
        family: 'load',
        data: { load1: 1.5, load5, load15: 0.5, threads_running: 1, threads_total: 2, last_pid: 3 },
      },
    })
    expect(appendEnvelopeRows(batch, env(Number.NaN), 'acme', { partition: 2, offset: '40' })).toEqual({
      reason: 'NON_FINITE_VALUE',
      detail: 'node_load5{} = NaN',
    })
    expect(appendEnvelopeRows(batch, env(1), 'acme', { partition: 2, offset: '40' }, 2)).toEqual({
      reason: 'TOO_MANY_SERIES',
      detail: 'more than 2 series in one load sample',
    })
    // All or nothing: a refused envelope leaves no point and no log row.
    expect(widePoints(batch)).toEqual([])
    expect(batch.log).toEqual([])
    expect(appendEnvelopeRows(batch, env(0.75), 'acme', { partition: 2, offset: '41' })).toBeUndefined()
    const byName = Object.fromEntries(widePoints(batch).map((r) => [r[1], r]))
    expect(byName.node_load1).toEqual(['acme', 'node_load1', 'h1', '{}', 1_795_000_000_500_000, 1.5])
    expect(byName.node_load5?.[5]).toBe(0.75)
    expect(batch.log).toEqual([
      ['acme', 'h1', 'web', 'a1', 7, 'load', '1795000000.500000', batch.values.length, 2, '41', ''],
    ])
  })

  it('stores a collector’s metrics record as it came, and logs it under the collector’s name', () => {
    const batch = newRowBatch()
    const env: Envelope = {
      tenant: 'ignored-by-caller',
      host_id: 'h1',
      hostname: 'web',
      agent_id: 'a1',
      seq: 8,
      ts_us: 1_795_000_001_000_000,
      interval_ms: 10_000,
      sample: {
        family: 'metrics',
        data: {
          collector: 'hwmon',
          metrics: [
            {
              name: 'node_hwmon_temp_celsius',
              type: 'GAUGE',
              series: [
                { labels: { sensor: 'temp1', chip: 'platform_coretemp_0' }, value: 41.5 },
                { labels: { chip: 'platform_coretemp_0', sensor: 'temp2' }, value: 39 },
              ],
            },
            { name: 'node_hwmon_chip_names', type: 'GAUGE', series: [{ labels: {}, value: 1 }] },
          ],
        },
      },
    }
    expect(appendEnvelopeRows(batch, env, 'acme', { partition: 0, offset: '9' }, 2)).toEqual({
      reason: 'TOO_MANY_SERIES',
      detail: 'more than 2 series in one hwmon sample',
    })
    expect(appendEnvelopeRows(batch, env, 'acme', { partition: 0, offset: '9' })).toBeUndefined()
    expect(widePoints(batch)).toEqual([
      [
        'acme',
        'node_hwmon_temp_celsius',
        'h1',
        '{"chip":"platform_coretemp_0","sensor":"temp1"}',
        1_795_000_001_000_000,
        41.5,
      ],
      [
        'acme',
        'node_hwmon_temp_celsius',
        'h1',
        '{"chip":"platform_coretemp_0","sensor":"temp2"}',
        1_795_000_001_000_000,
        39,
      ],
      ['acme', 'node_hwmon_chip_names', 'h1', '{}', 1_795_000_001_000_000, 1],
    ])
    expect(batch.log).toEqual([['acme', 'h1', 'web', 'a1', 8, 'hwmon', '1795000001.000000', 3, 0, '9', '']])
  })
})
