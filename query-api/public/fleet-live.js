// Pure: keeps an /api/fleet answer current from /api/live messages. Each host's values and sparklines
// are computed from its samples the way src/fleet-query.ts computes them from stored rows: CPU busy %
// from the per-mode rates summed over cpus, memory used % from MemTotal and MemAvailable, disk and
// network bytes/s summed over the physical devices. No DOM.

import { isVirtualDevice } from './transform.js'

const CPU = 'node_cpu_seconds_total'
const DISK = new Set(['node_disk_read_bytes_total', 'node_disk_written_bytes_total'])
const NET = new Set(['node_network_receive_bytes_total', 'node_network_transmit_bytes_total'])
const MEM_TOTAL = 'node_memory_MemTotal_bytes'
const MEM_AVAILABLE = 'node_memory_MemAvailable_bytes'

/** What the fleet view asks the stream for (`?metric=`): nothing else reaches the page. */
export const FLEET_LIVE_METRICS = [CPU, ...DISK, ...NET, MEM_TOTAL, MEM_AVAILABLE]

/** Four significant digits, as the server rounds. */
function round(v) {
  return v == null || !Number.isFinite(v) ? null : Number(v.toPrecision(4))
}

function deviceOf(labelsJson) {
  try {
    const labels = JSON.parse(labelsJson)
    return typeof labels?.device === 'string' ? labels.device : ''
  } catch {
    return ''
  }
}

function isIdle(labelsJson) {
  try {
    return JSON.parse(labelsJson)?.mode === 'idle'
  } catch {
    return false
  }
}

/**
 * One message's fleet signals per sample instant (ms): `{ cpu, disk, net, memTotal, memAvailable }`,
 * each present only when the message holds it.
 */
export function fleetSignals(message) {
  const out = new Map()
  const at = (tsUs) => {
    const t = tsUs / 1000
    let s = out.get(t)
    if (!s) out.set(t, (s = {}))
    return s
  }
  for (const [metric, labels, tsUs, value] of message.rates) {
    const s = at(tsUs)
    if (metric === CPU) {
      s.cpuTotal = (s.cpuTotal ?? 0) + value
      if (!isIdle(labels)) s.cpuBusy = (s.cpuBusy ?? 0) + value
    } else if (DISK.has(metric) || NET.has(metric)) {
      if (isVirtualDevice(deviceOf(labels))) continue
      const kind = DISK.has(metric) ? 'disk' : 'net'
      s[kind] = (s[kind] ?? 0) + value
    }
  }
  for (const [metric, , tsUs, value] of message.points) {
    if (metric === MEM_TOTAL) at(tsUs).memTotal = value
    else if (metric === MEM_AVAILABLE) at(tsUs).memAvailable = value
  }
  for (const s of out.values()) {
    if (s.cpuTotal !== undefined) s.cpu = s.cpuTotal > 0 ? (100 * (s.cpuBusy ?? 0)) / s.cpuTotal : null
  }
  return out
}

const SIGNALS = [
  { key: 'cpu', field: 'cpu_busy' },
  { key: 'mem', field: 'mem_used' },
  { key: 'disk', field: 'disk_bytes_per_s' },
  { key: 'net', field: 'net_bytes_per_s' },
]

/** The fleet as the table shows it, fed by one stored answer and then by live messages. */
export function createFleetLive() {
  let timestamps = []
  let stepMs = 1
  let hosts = []
  let byId = new Map()
  /** host id → signal → { i, sum, n }: the mean of the samples in the sparkline's newest bucket. */
  let buckets = new Map()
  /** host id → the newest MemTotal and MemAvailable, which may come in different messages. */
  let memory = new Map()

  function firstMs() {
    return (timestamps[0] ?? 0) * 1000
  }

  /** Moves the grid on so its last bucket holds `ms`; the oldest buckets fall off. */
  function slideTo(ms) {
    if (timestamps.length === 0) return
    const index = Math.floor((ms - firstMs()) / stepMs)
    const shift = index - (timestamps.length - 1)
    if (shift <= 0) return
    const n = timestamps.length
    const start = timestamps[0] + (shift * stepMs) / 1000
    timestamps = timestamps.map((_, i) => start + (i * stepMs) / 1000)
    for (const h of hosts) {
      for (const { key } of SIGNALS) {
        const old = h.spark[key]
        h.spark[key] = Array.from({ length: n }, (_, i) => (i + shift < n ? (old[i + shift] ?? null) : null))
      }
    }
    for (const perHost of buckets.values()) {
      for (const [key, acc] of perHost) {
        acc.i -= shift
        if (acc.i < 0) perHost.delete(key)
      }
    }
  }

  function record(host, key, field, tsMs, value) {
    const v = round(value)
    host[field] = v
    if (v == null) return
    const i = Math.floor((tsMs - firstMs()) / stepMs)
    if (i < 0 || i >= timestamps.length) return
    let perHost = buckets.get(host.host_id)
    if (!perHost) buckets.set(host.host_id, (perHost = new Map()))
    let acc = perHost.get(key)
    if (!acc || acc.i !== i) {
      const stored = host.spark[key][i]
      acc = { i, sum: stored ?? 0, n: stored == null ? 0 : 1 }
      perHost.set(key, acc)
    }
    acc.sum += v
    acc.n++
    host.spark[key][i] = round(acc.sum / acc.n)
  }

  return {
    /** Starts again from an /api/fleet answer (api.js's shape). */
    load(response) {
      timestamps = [...response.timestamps]
      stepMs = response.stepMs || 1
      hosts = response.hosts.map((h) => ({
        ...h,
        spark: Object.fromEntries(SIGNALS.map(({ key }) => [key, [...(h.spark[key] ?? [])]])),
      }))
      byId = new Map(hosts.map((h) => [h.host_id, h]))
      buckets = new Map()
      memory = new Map()
    },

    /**
     * Applies one message: 'unknown' when its host is not in the table (the caller re-reads the fleet),
     * 'changed' when something moved, 'none' otherwise.
     */
    apply(message) {
      const host = byId.get(message.host)
      if (!host) return 'unknown'
      let seen = false
      for (const p of message.points) {
        const tsMs = p[2] / 1000
        if (host.last_seen_ms == null || tsMs > host.last_seen_ms) {
          host.last_seen_ms = tsMs
          seen = true
        }
      }
      const signals = fleetSignals(message)
      for (const [tsMs, s] of [...signals].sort((a, b) => a[0] - b[0])) {
        slideTo(tsMs)
        if (s.cpu !== undefined) record(host, 'cpu', 'cpu_busy', tsMs, s.cpu)
        if (s.disk !== undefined) record(host, 'disk', 'disk_bytes_per_s', tsMs, s.disk)
        if (s.net !== undefined) record(host, 'net', 'net_bytes_per_s', tsMs, s.net)
        if (s.memTotal !== undefined || s.memAvailable !== undefined) {
          let mem = memory.get(host.host_id)
          if (!mem) memory.set(host.host_id, (mem = {}))
          if (s.memTotal !== undefined) mem.total = s.memTotal
          if (s.memAvailable !== undefined) mem.available = s.memAvailable
          if (mem.total > 0 && mem.available !== undefined)
            record(host, 'mem', 'mem_used', tsMs, 100 * (1 - mem.available / mem.total))
        }
      }
      return seen || signals.size > 0 ? 'changed' : 'none'
    },

    /** Slides the sparklines to `nowMs` even while no host reports, so silence shows as a gap. */
    slide(nowMs) {
      slideTo(nowMs)
    },

    /** The fleet in api.fleet's shape, for the table. */
    response() {
      return { timestamps, stepMs, hosts }
    },
  }
}
