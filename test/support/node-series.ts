import { prng } from '#platform/prng.ts'
import {
  addPoint,
  canonicalLabels,
  microsToDateTime64,
  newRowBatch,
  type RowBatch,
} from '../../stream-processors/src/rows.ts'

/**
 * node_exporter-shaped series of a few hosts, deterministic, for comparing query engines on the same
 * data: CPU seconds per mode that add up to elapsed time, load, memory, network and disk counters,
 * filesystems, pressure. One host restarts its counters half-way and falls silent for a while,
 * because resets and gaps are where rate and lookback differ between careless implementations.
 * Samples are stamped 250 ms past each interval so no sample sits on a window's edge, where
 * Prometheus 2 (closed windows) and 3 (left-open) disagree.
 */
export interface NodeSeries {
  metric: string
  host: string
  hostname: string
  labels: Record<string, string>
  points: { tsMs: number; value: number }[]
}

export interface NodeFleetOptions {
  startMs: number
  seconds: number
  intervalMs: number
  hosts: { id: string; name: string }[]
  /** The host whose counters restart at the middle of the range and which is silent after that. */
  troubled?: string
  gapSeconds?: number
}

const MODES = ['idle', 'iowait', 'system', 'user'] as const

export function nodeFleet(o: NodeFleetOptions): NodeSeries[] {
  const out: NodeSeries[] = []
  o.hosts.forEach((h, hi) => {
    const random = prng(1000 + hi)
    const series = new Map<string, NodeSeries>()
    const put = (metric: string, labels: Record<string, string>, tsMs: number, value: number): void => {
      const key = metric + canonicalLabels(labels)
      let s = series.get(key)
      if (!s) {
        s = { metric, host: h.id, hostname: h.name, labels, points: [] }
        series.set(key, s)
      }
      s.points.push({ tsMs, value })
    }
    const counters = new Map<string, number>()
    const bump = (key: string, by: number, base: number): number => {
      const v = (counters.get(key) ?? base) + by
      counters.set(key, v)
      return v
    }
    const samples = Math.floor((o.seconds * 1000) / o.intervalMs)
    const resetAt = Math.floor(samples / 2)
    const gap = Math.floor(((o.gapSeconds ?? 0) * 1000) / o.intervalMs)
    const dt = o.intervalMs / 1000
    for (let i = 0; i < samples; i++) {
      const troubled = h.id === o.troubled
      if (troubled && i === resetAt) counters.clear()
      if (troubled && i > resetAt && i <= resetAt + gap) continue
      const ts = o.startMs + i * o.intervalMs + 250
      const busy = 0.2 + (0.6 * random() * (hi + 1)) / o.hosts.length
      for (const cpu of ['0', '1']) {
        const shares = [1 - busy, busy * 0.1, busy * 0.3, busy * 0.6]
        MODES.forEach((mode, mi) => {
          put(
            'node_cpu_seconds_total',
            { cpu, mode },
            ts,
            bump(`cpu${cpu}${mode}`, (shares[mi] ?? 0) * dt, 1e5 * (mi + 1)),
          )
        })
      }
      const load = 0.5 + 2 * busy + 0.3 * Math.sin(i / 40)
      put('node_load1', {}, ts, Math.round(load * 100) / 100)
      put('node_load5', {}, ts, Math.round(load * 90) / 100)
      put('node_load15', {}, ts, Math.round(load * 80) / 100)
      const total = 8 * 2 ** 30
      const available = Math.round(total * (0.4 + 0.1 * Math.sin(i / 100 + hi)))
      put('node_memory_MemTotal_bytes', {}, ts, total)
      put('node_memory_MemAvailable_bytes', {}, ts, available)
      put('node_memory_MemFree_bytes', {}, ts, Math.round(available * 0.3))
      put('node_memory_Buffers_bytes', {}, ts, 200 * 2 ** 20)
      put('node_memory_Cached_bytes', {}, ts, Math.round(available * 0.6))
      for (const device of ['eth0', 'lo']) {
        const rx = Math.round(random() * 2e6 * dt)
        put('node_network_receive_bytes_total', { device }, ts, bump(`rx${device}`, rx, 5e9))
        put('node_network_transmit_bytes_total', { device }, ts, bump(`tx${device}`, Math.round(rx / 3), 2e9))
      }
      put(
        'node_disk_read_bytes_total',
        { device: 'sda' },
        ts,
        bump('rd', Math.round(random() * 5e5) * 512, 1e10),
      )
      put(
        'node_disk_written_bytes_total',
        { device: 'sda' },
        ts,
        bump('wr', Math.round(random() * 8e5) * 512, 3e10),
      )
      for (const [mountpoint, fstype, device, size] of [
        ['/', 'ext4', '/dev/sda1', 100 * 2 ** 30],
        ['/run', 'tmpfs', 'tmpfs', 2 ** 30],
      ] as const) {
        put('node_filesystem_size_bytes', { device, fstype, mountpoint }, ts, size)
        put(
          'node_filesystem_avail_bytes',
          { device, fstype, mountpoint },
          ts,
          Math.round(size * (0.5 - i / (samples * 10))),
        )
      }
      put('node_pressure_cpu_waiting_seconds_total', {}, ts, bump('pcpu', busy * 0.05 * dt, 300))
      put('node_pressure_memory_waiting_seconds_total', {}, ts, bump('pmem', random() * 0.01 * dt, 20))
      put('node_pressure_io_waiting_seconds_total', {}, ts, bump('pio', random() * 0.03 * dt, 80))
    }
    out.push(...series.values())
  })
  return out
}

/** The same series as the processors store them: points and one sample_log row per tick. */
export function nodeFleetRows(tenant: string, series: NodeSeries[]): RowBatch {
  const batch = newRowBatch()
  const ticks = new Map<string, { host: string; hostname: string; tsMs: number }>()
  for (const s of series) {
    const labels = canonicalLabels(s.labels)
    for (const p of s.points) {
      addPoint(batch, { tenant, metric: s.metric, host: s.host, labels, tsUs: p.tsMs * 1000, value: p.value })
      ticks.set(`${s.host}/${p.tsMs}`, { host: s.host, hostname: s.hostname, tsMs: p.tsMs })
    }
  }
  let seq = 0
  for (const t of ticks.values())
    batch.log.push([
      tenant,
      t.host,
      t.hostname,
      `agent-${t.host}`,
      seq++,
      'cpu',
      microsToDateTime64(t.tsMs * 1000),
      1,
      0,
      String(seq),
      '',
    ])
  return batch
}

/** The label set the query API gives each series (query-api/src/promql/labels.ts). */
export function promLabels(s: NodeSeries): Record<string, string> {
  return { ...s.labels, __name__: s.metric, host: s.host, instance: s.hostname, job: 'node' }
}
