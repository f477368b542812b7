/**
 * GET /api/fleet over embedded ClickHouse: 20 min of 1 s node_exporter rows for two tenants (one host
 * name in both), read from raw and from each rollup tier, against values computed by hand from the
 * rates the rows were generated with. Virtual devices carry huge rates, so counting one shows.
 */
import type { ClickHouseClient } from '@clickhouse/client'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClickHouseSink, addPoint, newRowBatch } from '#test/support/store-rows.ts'
import { canonicalLabels, microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { queryFleet, type FleetHost, type FleetResponse } from '../../src/fleet-query.ts'
import { fleetRoutes } from '../../src/routes/fleet.ts'

const DB = 'fleet'
const MIN = 60_000
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0)
const SECONDS = 20 * 60
const GIB = 1024 ** 3

interface HostSpec {
  tenant: string
  host: string
  hostname: string
  /** Seconds per second of each mode, per CPU (two CPUs). */
  cpu: { user: number; system: number; iowait: number; idle: number }
  disk: { read: number; written: number }
  net: { rx: number; tx: number }
  memTotal: number
  memAvailable: (i: number) => number
  /** Reports for this many seconds from T0. */
  reports: number
}

const HOSTS: HostSpec[] = [
  {
    tenant: 'acme',
    host: 'h-busy',
    hostname: 'busy.acme',
    cpu: { user: 0.5, system: 0.2, iowait: 0.05, idle: 0.25 },
    disk: { read: 1_000_000, written: 500_000 },
    net: { rx: 200_000, tx: 100_000 },
    memTotal: 16 * GIB,
    memAvailable: (i) => 4 * GIB + 1_000_000 * (i % 60),
    reports: SECONDS,
  },
  {
    tenant: 'acme',
    host: 'h-mid',
    hostname: 'mid.acme',
    cpu: { user: 0.3, system: 0.1, iowait: 0.1, idle: 0.5 },
    disk: { read: 200_000, written: 100_000 },
    net: { rx: 10_000, tx: 10_000 },
    memTotal: 8 * GIB,
    memAvailable: () => 4 * GIB,
    reports: SECONDS,
  },
  {
    tenant: 'acme',
    host: 'h-idle',
    hostname: 'idle.acme',
    cpu: { user: 0.05, system: 0.03, iowait: 0, idle: 0.92 },
    disk: { read: 0, written: 1_000 },
    net: { rx: 500, tx: 500 },
    memTotal: 32 * GIB,
    memAvailable: () => 28 * GIB,
    reports: 15 * 60, // goes silent at T0 + 15 min
  },
  // Another tenant's host with the same id: none of it may reach acme.
  {
    tenant: 'globex',
    host: 'h-busy',
    hostname: 'busy.globex',
    cpu: { user: 0.97, system: 0.02, iowait: 0, idle: 0.01 },
    disk: { read: 9e9, written: 9e9 },
    net: { rx: 9e9, tx: 9e9 },
    memTotal: 4 * GIB,
    memAvailable: () => 0.1 * GIB,
    reports: SECONDS,
  },
  {
    tenant: 'globex',
    host: 'g-2',
    hostname: 'g-2.globex',
    cpu: { user: 0.1, system: 0.1, iowait: 0, idle: 0.8 },
    disk: { read: 1, written: 1 },
    net: { rx: 1, tx: 1 },
    memTotal: 4 * GIB,
    memAvailable: () => 2 * GIB,
    reports: SECONDS,
  },
]

/** Counters that must never count: loopback, loop mounts and container interfaces. */
const VIRTUAL: [metric: string, device: string, rate: number][] = [
  ['node_network_receive_bytes_total', 'lo', 5e8],
  ['node_network_transmit_bytes_total', 'lo', 5e8],
  ['node_network_receive_bytes_total', 'veth12ab', 7e7],
  ['node_network_transmit_bytes_total', 'docker0', 3e7],
  ['node_disk_read_bytes_total', 'loop0', 1e9],
]

let db: EmbeddedClickHouse
let clickhouse: ClickHouseClient
let app: FastifyInstance
const key = { acme: '', globex: '', ingest: '' }

beforeAll(async () => {
  db = await openEmbeddedClickHouse(DB)
  clickhouse = db.clickhouse
  const sink = new ClickHouseSink(clickhouse, DB)
  for (const spec of HOSTS) {
    const batch = newRowBatch()
    const row = (metric: string, labels: Record<string, string>, tsUs: number, value: number): void => {
      addPoint(batch, {
        tenant: spec.tenant,
        metric,
        host: spec.host,
        labels: canonicalLabels(labels),
        tsUs,
        value,
      })
    }
    for (let i = 0; i < spec.reports; i++) {
      const ts = (T0 + i * 1000) * 1000
      for (const cpu of ['0', '1']) {
        for (const [mode, rate] of Object.entries(spec.cpu)) {
          row('node_cpu_seconds_total', { cpu, mode }, ts, 5000 + rate * i)
        }
      }
      row('node_disk_read_bytes_total', { device: 'sda' }, ts, 1e9 + spec.disk.read * i)
      row('node_disk_written_bytes_total', { device: 'sda' }, ts, 2e9 + spec.disk.written * i)
      row('node_network_receive_bytes_total', { device: 'eth0' }, ts, 3e9 + spec.net.rx * i)
      row('node_network_transmit_bytes_total', { device: 'eth0' }, ts, 4e9 + spec.net.tx * i)
      for (const [metric, device, rate] of VIRTUAL) row(metric, { device }, ts, rate * i)
      row('node_memory_MemTotal_bytes', {}, ts, spec.memTotal)
      row('node_memory_MemAvailable_bytes', {}, ts, spec.memAvailable(i))
      batch.log.push([
        spec.tenant,
        spec.host,
        spec.hostname,
        'agent-1',
        i,
        'cpu',
        microsToDateTime64(ts),
        16,
        0,
        String(i),
        'samples',
      ])
    }
    await sink.write(batch, `fleet-${spec.tenant}-${spec.host}`)
  }
  // A host that reported once, long ago, and sent no metric the fleet view reads.
  const quiet = newRowBatch()
  const ts = microsToDateTime64(T0 * 1000)
  quiet.log.push(['acme', 'h-quiet', 'quiet.acme', 'agent-q', 0, 'uname', ts, 1, 0, '0', 'samples'])
  await sink.write(quiet, 'fleet-quiet')

  const { auth, keys } = await memoryKeys([
    { tenant: 'acme', scopes: ['read'] },
    { tenant: 'globex', scopes: ['read'] },
    { tenant: 'acme', scopes: ['ingest'] },
  ])
  ;[key.acme, key.globex, key.ingest] = keys as [string, string, string]
  // The route alone, on a bare app: what is under test is its tenant scoping, not server.ts.
  app = Fastify()
  fleetRoutes(app, { clickhouse, database: DB, keys: auth, maxPoints: 11_000 })
  await app.ready()
})

afterAll(async () => {
  await app.close()
  await db.close()
})

const spec = (tenant: string, host: string): HostSpec => {
  const s = HOSTS.find((h) => h.tenant === tenant && h.host === host)
  if (!s) throw new Error(`no host ${tenant}/${host}`)
  return s
}
const busyPercent = (s: HostSpec): number =>
  100 * (1 - s.cpu.idle / (s.cpu.user + s.cpu.system + s.cpu.iowait + s.cpu.idle))

/** Mean memory used % over the seconds [from, to) that the host reported in. */
function memUsed(s: HostSpec, from: number, to: number): number | null {
  let sum = 0
  let n = 0
  for (let i = from; i < Math.min(to, s.reports); i++) {
    sum += s.memAvailable(i)
    n++
  }
  return n === 0 ? null : 100 * (1 - sum / n / s.memTotal)
}

/** The response's values carry four significant digits. */
function expectNear(actual: number | null | undefined, expected: number | null, what: string): void {
  if (expected === null) {
    expect(actual, what).toBeNull()
    return
  }
  expect(actual, what).not.toBeNull()
  expect(
    Math.abs((actual as number) - expected),
    `${what}: ${String(actual)} ≈ ${String(expected)}`,
  ).toBeLessThanOrEqual(Math.abs(expected) * 6e-4 + 1e-9)
}

/** Every step of every sparkline of `host` against the spec it was generated from. */
function checkHost(
  res: FleetResponse,
  h: FleetHost,
  s: HostSpec,
  counterStepsWithoutPredecessor: number,
): void {
  const stepS = res.step_ms / 1000
  res.timestamps.forEach((tsSec, k) => {
    const from = tsSec - T0 / 1000
    const reported = from < s.reports
    const rates = reported && k >= counterStepsWithoutPredecessor
    const at = `${s.host} ${res.source} step ${String(k)}`
    expectNear(h.spark.cpu[k], rates ? busyPercent(s) : null, `${at} cpu`)
    expectNear(h.spark.disk[k], rates ? s.disk.read + s.disk.written : null, `${at} disk`)
    expectNear(h.spark.net[k], rates ? s.net.rx + s.net.tx : null, `${at} net`)
    expectNear(h.spark.mem[k], memUsed(s, from, from + stepS), `${at} mem`)
  })
  const lastReported = Math.floor((s.reports - 1) / stepS) * stepS
  expectNear(h.cpu_busy, busyPercent(s), `${s.host} cpu_busy`)
  expectNear(h.disk_bytes_per_s, s.disk.read + s.disk.written, `${s.host} disk_bytes_per_s`)
  expectNear(h.net_bytes_per_s, s.net.rx + s.net.tx, `${s.host} net_bytes_per_s`)
  expectNear(h.mem_used, memUsed(s, lastReported, lastReported + stepS), `${s.host} mem_used`)
  expect(h.hostname).toBe(s.hostname)
  expect(h.last_seen_ms).toBe(T0 + (s.reports - 1) * 1000)
}

describe('fleet query', () => {
  it('ranks the tenant’s hosts by CPU from raw rows, each value as computed by hand', async () => {
    const res = await queryFleet(clickhouse, DB, {
      tenant: 'acme',
      fromMs: T0 + 10 * MIN,
      toMs: T0 + 20 * MIN,
      points: 30,
    })
    expect(res.source).toBe('metrics_raw')
    expect(res.step_ms).toBe(20_000)
    expect(res.timestamps).toHaveLength(30)
    expect(res.timestamps[0]).toBe((T0 + 10 * MIN) / 1000)
    expect(res.hosts.map((h) => h.host_id)).toEqual(['h-busy', 'h-mid', 'h-idle', 'h-quiet'])
    for (const h of res.hosts.slice(0, 3)) checkHost(res, h, spec('acme', h.host_id), 0)
    // The idle host went silent at 15 min: its newest values are those of its last step, the rest gaps.
    const idle = res.hosts[2] as FleetHost
    expect(idle.spark.cpu.slice(15).every((v) => v === null)).toBe(true)
    expect(res.hosts[3]).toMatchObject({
      host_id: 'h-quiet',
      cpu_busy: null,
      mem_used: null,
      disk_bytes_per_s: null,
      net_bytes_per_s: null,
    })
  })

  it.each([
    [20, 'metrics_10s', 60_000],
    [5, 'metrics_1m', 240_000],
  ])('gives the same values from the rollup tiers (%i points: %s)', async (points, source, stepMs) => {
    const res = await queryFleet(clickhouse, DB, { tenant: 'acme', fromMs: T0, toMs: T0 + 20 * MIN, points })
    expect(res.source).toBe(source)
    expect(res.step_ms).toBe(stepMs)
    expect(res.hosts.map((h) => h.host_id)).toEqual(['h-busy', 'h-mid', 'h-idle', 'h-quiet'])
    // The range starts with the data: its first step has no earlier one to take an increase from.
    for (const h of res.hosts.slice(0, 3)) checkHost(res, h, spec('acme', h.host_id), 1)
  })

  it('reads the other tenant’s host of the same name for that tenant only', async () => {
    const res = await queryFleet(clickhouse, DB, {
      tenant: 'globex',
      fromMs: T0 + 10 * MIN,
      toMs: T0 + 20 * MIN,
      points: 30,
    })
    expect(res.hosts.map((h) => `${h.host_id} ${h.hostname}`)).toEqual([
      'h-busy busy.globex',
      'g-2 g-2.globex',
    ])
    checkHost(res, res.hosts[0] as FleetHost, spec('globex', 'h-busy'), 0)
  })
})

describe('GET /api/fleet', () => {
  const get = (query: string, apiKey: string | undefined) =>
    app.inject({
      url: `/api/fleet${query}`,
      headers: apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` },
    })
  const range = `?from=${String(T0 + 10 * MIN)}&to=${String(T0 + 20 * MIN)}&points=30`

  it('answers each key with its own tenant’s hosts only', async () => {
    const acme = await get(range, key.acme)
    expect(acme.statusCode).toBe(200)
    const body = acme.json<FleetResponse>()
    expect(body.hosts.map((h) => h.host_id)).toEqual(['h-busy', 'h-mid', 'h-idle', 'h-quiet'])
    expect(body.hosts.map((h) => h.hostname)).not.toContain('busy.globex')
    expectNear(body.hosts[0]?.cpu_busy, 75, 'acme h-busy cpu')
    expect(body.timestamps).toHaveLength(30)
    expect(body.hosts[0]?.spark.cpu).toHaveLength(30)

    // A tenant parameter is ignored: the key alone decides.
    const sneaky = await get(`${range}&tenant=globex`, key.acme)
    expect(sneaky.json<FleetResponse>().hosts.map((h) => h.hostname)).not.toContain('busy.globex')

    const globex = (await get(range, key.globex)).json<FleetResponse>()
    expect(globex.hosts.map((h) => h.hostname)).toEqual(['busy.globex', 'g-2.globex'])
  })

  it('wants a read key, and names a bad parameter in a 400', async () => {
    expect((await get(range, undefined)).statusCode).toBe(401)
    expect((await get(range, key.ingest)).statusCode).toBe(403)
    const bad = await get('?points=1', key.acme)
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ message: 'points must be between 2 and 200', code: 'BAD_REQUEST' })
    const backwards = await get(`?from=${String(T0)}&to=${String(T0 - 1)}`, key.acme)
    expect(backwards.statusCode).toBe(400)
    expect(backwards.json()).toMatchObject({ message: 'from must be before to', code: 'BAD_REQUEST' })
  })
})
