import { describe, expect, it } from 'vitest'
import { assembleFleet, countersSql, memorySql, VIRTUAL_DEVICE_RE2 } from './fleet-query.ts'

const grid = { first: 1_000_000, step: 10_000, buckets: 4 }
const host = (host_id: string, hostname = `${host_id}.example`) => ({
  host_id,
  hostname,
  last_seen_ms: 1_040_000,
})

describe('assembleFleet', () => {
  it('places each row on the grid and takes the newest non-empty step as the current value', () => {
    const [a] = assembleFleet(
      [host('a')],
      [
        { host: 'a', t: '1000000', cpu: 10, disk: 100, net: 5 },
        { host: 'a', t: '1010000', cpu: 20.123456, disk: null, net: 6 },
        { host: 'a', t: '1020000', cpu: null, disk: null, net: null },
      ],
      [{ host: 'a', t: 1_030_000, mem: 42 }],
      grid,
    )
    expect(a).toEqual({
      ...host('a'),
      cpu_busy: 20.12,
      mem_used: 42,
      disk_bytes_per_s: 100,
      net_bytes_per_s: 6,
      spark: {
        cpu: [10, 20.12, null, null],
        mem: [null, null, null, 42],
        disk: [100, null, null, null],
        net: [5, 6, null, null],
      },
    })
  })

  it('ranks by CPU busy, hosts without CPU data last, ties by name', () => {
    const ranked = assembleFleet(
      [host('quiet'), host('b'), host('a'), host('hot')],
      [
        { host: 'a', t: 1_000_000, cpu: 50, disk: null, net: null },
        { host: 'b', t: 1_000_000, cpu: 50, disk: null, net: null },
        { host: 'hot', t: 1_000_000, cpu: 99.5, disk: null, net: null },
      ],
      [],
      grid,
    )
    expect(ranked.map((h) => h.host_id)).toEqual(['hot', 'a', 'b', 'quiet'])
    expect(ranked[3]?.spark.cpu).toEqual([null, null, null, null])
  })

  it('ignores rows of hosts not in the host list and steps off the grid', () => {
    const [a] = assembleFleet(
      [host('a')],
      [
        { host: 'stranger', t: 1_000_000, cpu: 1, disk: 1, net: 1 },
        { host: 'a', t: 990_000, cpu: 1, disk: 1, net: 1 },
        { host: 'a', t: 1_040_000, cpu: 1, disk: 1, net: 1 },
      ],
      [],
      grid,
    )
    expect(a?.cpu_busy).toBeNull()
    expect(a?.spark.cpu).toEqual([null, null, null, null])
  })

  it('rounds to four significant digits, drops non-finite values', () => {
    const [a] = assembleFleet(
      [host('a')],
      [{ host: 'a', t: 1_000_000, cpu: Number.NaN, disk: 123_456_789, net: 0.000123456 }],
      [],
      grid,
    )
    expect(a?.spark.cpu[0]).toBeNull()
    expect(a?.disk_bytes_per_s).toBe(123_500_000)
    expect(a?.net_bytes_per_s).toBe(0.0001235)
  })
})

describe('fleet SQL', () => {
  it.each([
    [undefined, 'points'],
    ['metrics_10s', 'points_10s'],
    ['metrics_1m', 'points_1m'],
    ['metrics_1h', 'points_1h'],
  ] as const)(
    'reads only the caller’s tenant, by query parameter, in the series and the points (%s)',
    (tier, table) => {
      for (const sql of [countersSql('db', tier), memorySql('db', tier)]) {
        // Every read of the series table (the ids, the names joined on) is of the tenant's series,
        // and the points are read by those ids and by their own tenant column.
        const series = sql.split('FROM db.series').slice(1)
        expect(series).toHaveLength(2)
        for (const rest of series) expect(rest.startsWith(' WHERE tenant = {tenant:String} AND')).toBe(true)
        const points = sql.split(/FROM db\.points\w*/).slice(1)
        expect(points).toHaveLength(1)
        // A tier is read merged (FINAL); raw points have nothing to merge.
        expect(sql).toMatch(new RegExp(`FROM db\\.${table}( FINAL)?\\n`))
        expect(points[0]).toMatch(
          /^( FINAL)?\s+WHERE tenant = \{tenant:String\} AND series_id IN \(SELECT series_id FROM db\.series/,
        )
        expect(sql).not.toContain('metrics_')
        expect(sql).toContain('GROUP BY host')
      }
    },
  )

  it('treats loopback, loop, RAM, veth and docker devices as virtual, real ones not', () => {
    const re = new RegExp(VIRTUAL_DEVICE_RE2)
    for (const d of ['lo', 'loop0', 'ram1', 'zram0', 'fd0', 'veth12ab', 'docker0']) expect(d).toMatch(re)
    for (const d of ['eth0', 'ens5', 'sda', 'nvme0n1', 'lodev', 'dm-0', 'wlan0']) expect(d).not.toMatch(re)
  })
})
