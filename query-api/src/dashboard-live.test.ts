/**
 * The dashboard's live path without a browser: SSE frames cut anywhere, live messages shaped by the
 * panels' own `build` exactly as a stored answer is, and the fleet's values and sparklines from
 * messages (query-api/public/live.js, live-series.js, fleet-live.js).
 */
import { describe, expect, it } from 'vitest'
import { createFleetLive, fleetSignals, type FleetAnswer } from '../public/fleet-live.js'
import { createSeriesBuffer, ratesFromPoints } from '../public/live-series.js'
import { createSseParser, parseLiveMessage, retryDelay, type LiveMessage } from '../public/live.js'
import { PANELS } from '../public/panels.js'

const T = 1_700_000_000 // seconds

function panel(id: string): (typeof PANELS)[number] {
  const p = PANELS.find((x) => x.id === id)
  if (!p) throw new Error(`no panel ${id}`)
  return p
}

function message(host: string, points: LiveMessage['points'], rates: LiveMessage['rates'] = []): LiveMessage {
  return { host, points, rates }
}

describe('createSseParser', () => {
  it('returns each event once, however the text is cut, and skips comments and other fields', () => {
    const text =
      ': procstream live acme.>\n\ndata: {"a":1}\n\n: keep-alive\n\nevent: x\ndata: line1\ndata: line2\n\r\ndata:{"b":2}\r\n\r\n'
    const whole: string[] = []
    createSseParser((d) => whole.push(d)).push(text)
    expect(whole).toEqual(['{"a":1}', 'line1\nline2', '{"b":2}'])
    for (let size = 1; size <= 7; size++) {
      const got: string[] = []
      const parser = createSseParser((d) => got.push(d))
      for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size))
      expect(got).toEqual(whole)
    }
  })

  it('holds an event back until its blank line arrives', () => {
    const got: string[] = []
    const parser = createSseParser((d) => got.push(d))
    parser.push('data: {"host":"a"}\n')
    expect(got).toEqual([])
    parser.push('\n')
    expect(got).toEqual(['{"host":"a"}'])
  })
})

describe('parseLiveMessage', () => {
  it('keeps well-formed tuples and refuses what is not a message', () => {
    const m = parseLiveMessage(
      JSON.stringify({ host: 'h', points: [['m', '{}', 1, 2], ['bad'], ['m', '{}', 'x', 1]], rates: [] }),
    )
    expect(m).toEqual({ host: 'h', points: [['m', '{}', 1, 2]], rates: [] })
    expect(parseLiveMessage('{"points":[]}')).toBeNull()
    expect(parseLiveMessage('not json')).toBeNull()
  })

  it('backs off from 1 s, doubling to at most 15 s', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map(retryDelay)).toEqual([1000, 2000, 4000, 8000, 15000, 15000, 15000])
  })
})

describe('live series shaped by the panels', () => {
  it('CPU busy % per mode from the per-mode rates summed over cpus, after the stored answer', () => {
    const cpu = panel('cpu')
    const buffers = cpu.queries.map((q) => createSeriesBuffer(q))
    // Stored: one step, 30 % user, 70 % idle of 2 cpus' seconds per second.
    buffers[0]?.load({
      timestamps: [T],
      series: [
        { labels: { mode: 'idle' }, values: [1.4] },
        { labels: { mode: 'system' }, values: [0] },
        { labels: { mode: 'user' }, values: [0.6] },
      ],
    })
    const us = (T + 1) * 1e6
    const rates: LiveMessage['rates'] = [
      ['node_cpu_seconds_total', '{"cpu":"0","mode":"user"}', us, 0.5],
      ['node_cpu_seconds_total', '{"cpu":"1","mode":"user"}', us, 0.3],
      ['node_cpu_seconds_total', '{"cpu":"0","mode":"idle"}', us, 0.5],
      ['node_cpu_seconds_total', '{"cpu":"1","mode":"idle"}', us, 0.7],
      ['node_cpu_seconds_total', '{"cpu":"0","mode":"system"}', us, 0],
      // Another metric's rate: not the panel's.
      ['node_disk_read_bytes_total', '{"device":"sda"}', us, 99],
    ]
    expect(buffers[0]?.add(message('h', [], rates))).toBe(true)
    const frame = cpu.build(
      buffers.map((b) => b.response()),
      { includeVirtual: false },
    )
    expect(frame.timestamps).toEqual([T, T + 1])
    const user = frame.series.find((s) => s.name === 'user')
    expect(user?.values).toEqual([30, 40])
    expect(frame.series.find((s) => s.name === 'system')?.values).toEqual([0, 0])
    // The same message again (a replay) changes nothing.
    expect(buffers[0]?.add(message('h', [], rates))).toBe(false)
  })

  it('network per device, mirrored, virtual devices left out; memory breakdown; filesystems used %', () => {
    const us = T * 1e6
    const net = panel('network')
    const netBuffers = net.queries.map((q) => createSeriesBuffer(q))
    for (const b of netBuffers) b.load({ timestamps: [], series: [] })
    const netMessage = message(
      'h',
      [],
      [
        ['node_network_receive_bytes_total', '{"device":"eth0"}', us, 1000],
        ['node_network_transmit_bytes_total', '{"device":"eth0"}', us, 400],
        ['node_network_receive_bytes_total', '{"device":"lo"}', us, 5e6],
      ],
    )
    for (const b of netBuffers) b.add(netMessage)
    const netFrame = net.build(
      netBuffers.map((b) => b.response()),
      { includeVirtual: false },
    )
    expect(netFrame.series.map((s) => [s.name, s.values])).toEqual([
      ['eth0 rx', [1000]],
      ['eth0 tx', [-400]],
    ])

    const memory = panel('memory')
    const memBuffers = memory.queries.map((q) => createSeriesBuffer(q))
    for (const b of memBuffers) b.load({ timestamps: [], series: [] })
    const memMessage = message('h', [
      ['node_memory_MemTotal_bytes', '{}', us, 100],
      ['node_memory_MemAvailable_bytes', '{}', us, 60],
      ['node_memory_MemFree_bytes', '{}', us, 30],
      ['node_memory_Buffers_bytes', '{}', us, 5],
      ['node_memory_Cached_bytes', '{}', us, 20],
    ])
    for (const b of memBuffers) b.add(memMessage)
    const memFrame = memory.build(
      memBuffers.map((b) => b.response()),
      { includeVirtual: false },
    )
    expect(memFrame.series.map((s) => [s.name, s.values])).toEqual([
      ['used', [40]],
      ['cache + buffers', [25]],
      ['free', [30]],
    ])

    const fs = panel('filesystems')
    const fsBuffers = fs.queries.map((q) => createSeriesBuffer(q))
    for (const b of fsBuffers) b.load({ timestamps: [], series: [] })
    const root = '{"device":"/dev/sda1","fstype":"ext4","mountpoint":"/"}'
    const run = '{"device":"tmpfs","fstype":"tmpfs","mountpoint":"/run"}'
    const fsMessage = message('h', [
      ['node_filesystem_size_bytes', root, us, 200],
      ['node_filesystem_avail_bytes', root, us, 50],
      ['node_filesystem_size_bytes', run, us, 10],
      ['node_filesystem_avail_bytes', run, us, 10],
    ])
    for (const b of fsBuffers) b.add(fsMessage)
    const fsFrame = fs.build(
      fsBuffers.map((b) => b.response()),
      { includeVirtual: false },
    )
    expect(fsFrame.series.map((s) => [s.name, s.values])).toEqual([['/', [75]]])
  })

  it('pressure % from the rates of its counters', () => {
    const pressure = panel('pressure')
    const buffers = pressure.queries.map((q) => createSeriesBuffer(q))
    for (const b of buffers) b.load({ timestamps: [], series: [] })
    const us = T * 1e6
    const m = message(
      'h',
      [],
      [
        ['node_pressure_cpu_waiting_seconds_total', '{}', us, 0.25],
        ['node_pressure_io_stalled_seconds_total', '{}', us, 0.5],
      ],
    )
    for (const b of buffers) b.add(m)
    const frame = pressure.build(
      buffers.map((b) => b.response()),
      { includeVirtual: false },
    )
    expect(frame.series.map((s) => [s.name, s.values])).toEqual([
      ['cpu waiting', [25]],
      ['io stalled', [50]],
    ])
  })

  it('slides: instants before the range go, and a stored instant is not added twice', () => {
    const b = createSeriesBuffer({ metric: 'node_load1', fn: 'raw' })
    b.load({ timestamps: [T, T + 2], series: [{ labels: {}, values: [1, 2] }] })
    // At or before the newest stored instant: already in the stored answer.
    expect(b.add(message('h', [['node_load1', '{}', (T + 2) * 1e6, 9]]))).toBe(false)
    expect(b.add(message('h', [['node_load1', '{}', (T + 3) * 1e6, 3]]))).toBe(true)
    expect(b.trim(T + 1)).toBe(true)
    expect(b.response().timestamps).toEqual([T + 2, T + 3])
    expect(b.response().series[0]?.values).toEqual([2, 3])
    expect(b.trim(T + 1)).toBe(false)
  })

  it('drops the stored steps after the newest value: not stored yet, not a gap', () => {
    const b = createSeriesBuffer({ metric: 'node_load1', fn: 'raw' })
    b.load({ timestamps: [T, T + 2, T + 4, T + 6], series: [{ labels: {}, values: [1, null, 2, null] }] })
    expect(b.response().timestamps).toEqual([T, T + 2, T + 4])
    b.add(message('h', [['node_load1', '{}', (T + 5) * 1e6, 3]]))
    expect(b.response().series[0]?.values).toEqual([1, null, 2, 3])
    // A host silent for longer than that keeps its empty steps: the chart shows the silence.
    const silent = createSeriesBuffer({ metric: 'node_load1', fn: 'raw' })
    silent.load({ timestamps: [T, T + 30, T + 60], series: [{ labels: {}, values: [1, null, null] }] })
    expect(silent.response().timestamps).toEqual([T, T + 30, T + 60])
    // An answer without any value keeps its grid: the chart still spans the range.
    const empty = createSeriesBuffer({ metric: 'node_load1', fn: 'raw' })
    empty.load({ timestamps: [T, T + 2], series: [] })
    expect(empty.response().timestamps).toEqual([T, T + 2])
  })

  it('rates of an untyped counter from its points when the processor sends none', () => {
    const previous = new Map<string, [number, number]>()
    const m = 'node_netstat_Tcp_InSegs'
    expect(ratesFromPoints([[m, '{}', 1e6, 100]], m, previous)).toEqual([])
    expect(ratesFromPoints([[m, '{}', 3e6, 140]], m, previous)).toEqual([[m, '{}', 3e6, 20]])
    // A decrease is a reset: the new value is the increase.
    expect(ratesFromPoints([[m, '{}', 4e6, 10]], m, previous)).toEqual([[m, '{}', 4e6, 10]])
    const b = createSeriesBuffer({ metric: m, fn: 'rate' })
    b.load({ timestamps: [], series: [] })
    b.add(message('h', [[m, '{}', 1e6, 100]]))
    b.add(message('h', [[m, '{}', 2e6, 150]]))
    expect(b.response()).toMatchObject({ timestamps: [2], series: [{ labels: {}, values: [50] }] })
  })
})

describe('fleet from live messages', () => {
  const stepMs = 10_000
  const first = T * 1000
  function fleet(): FleetAnswer {
    return {
      timestamps: [0, 1, 2].map((i) => (first + i * stepMs) / 1000),
      stepMs,
      hosts: [
        {
          host_id: 'web-1',
          hostname: 'web-1',
          last_seen_ms: first + 25_000,
          cpu_busy: 10,
          mem_used: 50,
          disk_bytes_per_s: 1,
          net_bytes_per_s: 1,
          spark: { cpu: [10, 10, 10], mem: [50, 50, 50], disk: [1, 1, 1], net: [1, 1, 1] },
        },
      ],
    }
  }
  const cpuRates = (us: number, busy: number): LiveMessage['rates'] => [
    ['node_cpu_seconds_total', '{"cpu":"0","mode":"user"}', us, busy],
    ['node_cpu_seconds_total', '{"cpu":"0","mode":"idle"}', us, 1 - busy],
    ['node_network_receive_bytes_total', '{"device":"eth0"}', us, 300],
    ['node_network_transmit_bytes_total', '{"device":"eth0"}', us, 200],
    ['node_network_receive_bytes_total', '{"device":"lo"}', us, 1e9],
    ['node_disk_read_bytes_total', '{"device":"loop0"}', us, 1e9],
  ]

  it('computes CPU busy %, memory used %, bytes/s over physical devices and the exact last seen', () => {
    const us = (first + 26_500) * 1000
    const signals = fleetSignals(
      message(
        'web-1',
        [
          ['node_memory_MemTotal_bytes', '{}', us, 200],
          ['node_memory_MemAvailable_bytes', '{}', us, 50],
        ],
        cpuRates(us, 0.25),
      ),
    )
    expect(signals.get(us / 1000)).toMatchObject({ cpu: 25, net: 500, memTotal: 200, memAvailable: 50 })
    expect(signals.get(us / 1000)?.disk).toBeUndefined()

    const live = createFleetLive()
    live.load(fleet())
    const result = live.apply(
      message(
        'web-1',
        [
          ['node_memory_MemTotal_bytes', '{}', us, 200],
          ['node_memory_MemAvailable_bytes', '{}', us, 50],
        ],
        cpuRates(us, 0.25),
      ),
    )
    expect(result).toBe('changed')
    const h = live.response().hosts[0]
    expect(h).toMatchObject({
      last_seen_ms: first + 26_500,
      cpu_busy: 25,
      mem_used: 75,
      net_bytes_per_s: 500,
    })
    // The stored step's value and the sample share the newest bucket: their mean.
    expect(h?.spark.cpu).toEqual([10, 10, 17.5])
    expect(live.apply(message('db-9', [['node_load1', '{}', us, 1]]))).toBe('unknown')
  })

  it('slides the sparklines when a sample falls past the last step', () => {
    const live = createFleetLive()
    live.load(fleet())
    const us = (first + 41_000) * 1000
    live.apply(
      message('web-1', [['node_cpu_seconds_total', '{"cpu":"0","mode":"idle"}', us, 5]], cpuRates(us, 0.5)),
    )
    const r = live.response()
    expect(r.timestamps).toEqual([2, 3, 4].map((i) => (first + i * stepMs) / 1000))
    expect(r.hosts[0]?.spark.cpu).toEqual([10, null, 50])
    expect(r.hosts[0]?.last_seen_ms).toBe(first + 41_000)
    live.slide(first + 75_000)
    expect(live.response().hosts[0]?.spark.cpu).toEqual([null, null, null])
  })
})
