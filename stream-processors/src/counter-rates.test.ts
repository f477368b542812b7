import { describe, expect, it } from 'vitest'
import { counterIncrease, CounterRates, seriesKey, type CounterPoint, type HostRef } from './counter-rates.ts'
import { batchOf, type WidePoint } from './rows.ts'

const row = (
  metric: string,
  tsS: number,
  value: number,
  host = 'web-1',
  labels = '{"device":"eth0"}',
): WidePoint => ['acme', metric, host, labels, tsS * 1_000_000, value]
const RX = 'node_network_receive_bytes_total'

describe('counterIncrease', () => {
  it('reads a decrease as a reset, or as a wrap only near the top of the 32-bit range', () => {
    expect(counterIncrease(100, 150)).toEqual({ increase: 50, kind: 'ok' })
    expect(counterIncrease(5_000, 20)).toEqual({ increase: 20, kind: 'reset' })
    expect(counterIncrease(2 ** 32 - 10, 5)).toEqual({ increase: 15, kind: 'wrap' })
    // A 64-bit counter at 3.5 billion when its host rebooted: a reset, not a wrap.
    expect(counterIncrease(3.5e9, 100)).toEqual({ increase: 100, kind: 'reset' })
    // Past 2^32 the counter is 64-bit: a decrease there is a reset.
    expect(counterIncrease(2 ** 40, 5)).toEqual({ increase: 5, kind: 'reset' })
  })
})

describe('CounterRates', () => {
  it('gives per-second rates of counters only, from the second point on', async () => {
    const rates = new CounterRates(() => Promise.resolve(new Map<string, CounterPoint>()))
    const rows = [row(RX, 100, 1_000), row('node_load1', 100, 0.5, 'web-1', '{}'), row(RX, 102, 5_000)]
    await rates.prepare(batchOf(rows))
    expect([...rates.derive(batchOf(rows))]).toEqual([
      ['acme\u0000web-1', [[RX, '{"device":"eth0"}', 102_000_000, 2_000]]],
    ])
    expect(rates.stats.rates).toBe(1)
  })

  it('rebuilds a host’s state from what is stored, once per host until reset', async () => {
    const asked: HostRef[][] = []
    const stored = new Map<string, CounterPoint>([
      [seriesKey('acme', 'web-1', RX, '{"device":"eth0"}'), { tsUs: 90_000_000, value: 400 }],
    ])
    const rates = new CounterRates((hosts) => {
      asked.push(hosts)
      return Promise.resolve(stored)
    })
    await rates.prepare(batchOf([row(RX, 100, 1_400)]))
    expect(rates.derive(batchOf([row(RX, 100, 1_400)])).get('acme\u0000web-1')).toEqual([
      [RX, '{"device":"eth0"}', 100_000_000, 100],
    ])
    await rates.prepare(batchOf([row(RX, 101, 1_500)]))
    expect(asked).toEqual([[{ tenant: 'acme', host: 'web-1' }]])
    rates.reset()
    await rates.prepare(batchOf([row(RX, 101, 1_500)]))
    expect(asked).toHaveLength(2)
  })

  it('gives no rate for a point no newer than the last, nor an absurd one, and counts them', async () => {
    const rates = new CounterRates(() => Promise.resolve(new Map<string, CounterPoint>()), 1e6)
    const rows = [row(RX, 100, 0), row(RX, 101, 10), row(RX, 101, 10), row(RX, 100, 5), row(RX, 102, 1e9)]
    await rates.prepare(batchOf(rows))
    expect(rates.derive(batchOf(rows)).get('acme\u0000web-1')).toEqual([
      [RX, '{"device":"eth0"}', 101_000_000, 10],
    ])
    expect(rates.stats.dropped).toEqual({ out_of_order: 2, absurd: 1 })
  })

  it('counts resets and wraps, and rates them from the new value', async () => {
    const rates = new CounterRates(() => Promise.resolve(new Map<string, CounterPoint>()))
    const rows = [row(RX, 100, 2 ** 32 - 100), row(RX, 101, 100), row(RX, 102, 50)]
    await rates.prepare(batchOf(rows))
    expect(
      rates
        .derive(batchOf(rows))
        .get('acme\u0000web-1')
        ?.map((p) => p[3]),
    ).toEqual([200, 50])
    expect(rates.stats).toMatchObject({ resets: 1, wraps: 1 })
  })
})
