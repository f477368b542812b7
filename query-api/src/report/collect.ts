import type { ClickHouseClient } from '@clickhouse/client'
import { currentLabels, hostFacts, INFO_LOOKBACK_MS, INFO_METRICS } from '../../public/host-info.js'
import type { HostFact } from '../../public/host-info.js'
import { queryFleet, type FleetHost } from '../fleet-query.ts'
import { querySeries, type SeriesResponse } from '../series-query.ts'
import {
  FAMILIES,
  SPIKE_GROUPS,
  VIRTUAL_DEVICE,
  VIRTUAL_FSTYPE,
  type FamilyDef,
  type SpikeGroup,
} from './families.ts'
import { summarize, topSpikes, type Sample, type Summary } from './stats.ts'
import type { ReportWindow } from './window.ts'

/** Reports the work done so far; `total` is known up front so a progress bar can show it. */
export type Progress = (done: number, total: number, step: string) => void

export interface FamilyResult {
  def: FamilyDef
  /** The threshold actually used (a load's is the host's CPU count, when known). */
  threshold: number | undefined
  samples: Sample[]
  summary: Summary
}

export interface SpikeRow {
  group: SpikeGroup
  family: string
  tMs: number
  value: number
  unit: FamilyDef['unit']
}

export interface HostReport {
  kind: 'host'
  host: string
  hostname: string
  facts: HostFact[]
  fromMs: number
  toMs: number
  stepMs: number
  source: string
  families: FamilyResult[]
  spikes: SpikeRow[]
  generatedAtMs: number
}

/** Spikes per group, and how far apart two of them must be. */
export const SPIKES_PER_GROUP = 5
export const SPIKE_SEPARATION_STEPS = 10
export const MIN_SPIKE_SEPARATION_MS = 60_000

type Reader = (metric: string, fn: 'raw' | 'rate', sumBy?: string[]) => Promise<SeriesResponse>

/** Per step, the sum of the series that have a value there; null where none has. */
function sumAt(series: SeriesResponse['series'], n: number): (number | null)[] {
  const out: (number | null)[] = new Array<number | null>(n).fill(null)
  for (const s of series)
    s.values.forEach((v, i) => {
      if (v !== null) out[i] = (out[i] ?? 0) + v
    })
  return out
}

function scale(values: (number | null)[], k: number): (number | null)[] {
  return values.map((v) => (v === null ? null : v * k))
}

/**
 * Every family's values on the readers' shared grid (one `points`, one window: every response has
 * the same timestamps), each computed as the dashboard's panels compute it.
 */
async function familyValues(
  read: Reader,
  tick: (step: string) => void,
): Promise<{
  values: Map<string, (number | null)[]>
  timestamps: number[]
  stepMs: number
  source: string
}> {
  const values = new Map<string, (number | null)[]>()
  const cpu = await read('node_cpu_seconds_total', 'rate', ['mode'])
  tick('CPU')
  const n = cpu.timestamps.length
  const busy = sumAt(
    cpu.series.filter((s) => s.labels.mode !== 'idle'),
    n,
  )
  const all = sumAt(cpu.series, n)
  values.set(
    'cpu_busy',
    all.map((t, i) => (t === null || t <= 0 ? null : (100 * (busy[i] ?? 0)) / t)),
  )
  const total = sumAt((await read('node_memory_MemTotal_bytes', 'raw')).series, n)
  tick('memory')
  const avail = sumAt((await read('node_memory_MemAvailable_bytes', 'raw')).series, n)
  tick('memory')
  values.set(
    'memory_used',
    total.map((t, i) => {
      const a = avail[i]
      return t === null || t <= 0 || a === null || a === undefined ? null : 100 * (1 - a / t)
    }),
  )
  values.set('load1', sumAt((await read('node_load1', 'raw')).series, n))
  tick('load')
  const psi: [string, string][] = [
    ['psi_cpu_some', 'node_pressure_cpu_waiting_seconds_total'],
    ['psi_memory_some', 'node_pressure_memory_waiting_seconds_total'],
    ['psi_memory_full', 'node_pressure_memory_stalled_seconds_total'],
    ['psi_io_some', 'node_pressure_io_waiting_seconds_total'],
    ['psi_io_full', 'node_pressure_io_stalled_seconds_total'],
  ]
  for (const [id, metric] of psi) {
    // Seconds stalled per second, as a share of the time.
    values.set(id, scale(sumAt((await read(metric, 'rate')).series, n), 100))
    tick('pressure')
  }
  const physical = (r: SeriesResponse): SeriesResponse['series'] =>
    r.series.filter((s) => !VIRTUAL_DEVICE.test(s.labels.device ?? ''))
  const devices: [string, string, string][] = [
    ['disk_read', 'node_disk_read_bytes_total', 'disk'],
    ['disk_write', 'node_disk_written_bytes_total', 'disk'],
    ['net_rx', 'node_network_receive_bytes_total', 'network'],
    ['net_tx', 'node_network_transmit_bytes_total', 'network'],
  ]
  for (const [id, metric, step] of devices) {
    values.set(id, sumAt(physical(await read(metric, 'rate', ['device'])), n))
    tick(step)
  }
  const byMount = ['mountpoint', 'fstype']
  const real = (r: SeriesResponse): SeriesResponse['series'] =>
    r.series.filter((s) => !VIRTUAL_FSTYPE.test(s.labels.fstype ?? ''))
  const size = real(await read('node_filesystem_size_bytes', 'raw', byMount))
  tick('filesystems')
  const free = new Map(
    real(await read('node_filesystem_avail_bytes', 'raw', byMount)).map((s) => [
      JSON.stringify(s.labels),
      s.values,
    ]),
  )
  tick('filesystems')
  const fullest: (number | null)[] = new Array<number | null>(n).fill(null)
  for (const s of size) {
    const a = free.get(JSON.stringify(s.labels))
    if (!a) continue
    s.values.forEach((sz, i) => {
      const av = a[i]
      if (sz === null || sz <= 0 || av === null || av === undefined) return
      const used = 100 * (1 - av / sz)
      fullest[i] = Math.max(fullest[i] ?? used, used)
    })
  }
  values.set('filesystem_used', fullest)
  return { values, timestamps: cpu.timestamps, stepMs: cpu.step_ms, source: cpu.source }
}

/** Readers called for a host report, for the progress total: CPU, 2 memory, load, 5 PSI, 4 devices, 2 fs, info. */
export const HOST_READS = 1 + 2 + 1 + 5 + 4 + 2 + INFO_METRICS.length

export async function collectHost(
  client: ClickHouseClient,
  database: string,
  req: { tenant: string; host: string; hostname: string; window: ReportWindow },
  progress: Progress,
  extraSteps: number,
): Promise<HostReport> {
  const { window } = req
  const total = HOST_READS + extraSteps
  let done = 0
  const tick = (step: string): void => {
    done++
    progress(done, total, step)
  }
  progress(0, total, 'starting')
  const read: Reader = (metric, fn, sumBy) =>
    querySeries(client, database, {
      tenant: req.tenant,
      host: req.host,
      metric,
      fn,
      sumBy,
      fromMs: window.fromMs,
      toMs: window.toMs,
      points: window.points,
    })
  // The info metrics as the dashboard's header reads them: the window, an hour back at least.
  const infoFrom = Math.min(window.fromMs, window.toMs - INFO_LOOKBACK_MS)
  const info: SeriesResponse[] = []
  for (const metric of INFO_METRICS) {
    info.push(
      await querySeries(client, database, {
        tenant: req.tenant,
        host: req.host,
        metric,
        fn: 'raw',
        sumBy: undefined,
        fromMs: infoFrom,
        toMs: window.toMs,
        points: 30,
      }),
    )
    tick('host information')
  }
  const [uname, os, cpuInfo, dmi] = info
  const facts = hostFacts({ uname, os, cpu: cpuInfo, dmi })
  const cpuCount = cpuInfo ? new Set(currentLabels(cpuInfo).map((l, i) => l.cpu ?? `#${String(i)}`)).size : 0

  const { values, timestamps, stepMs, source } = await familyValues(read, tick)
  const separation = Math.max(MIN_SPIKE_SEPARATION_MS, SPIKE_SEPARATION_STEPS * stepMs)
  const families: FamilyResult[] = []
  const candidates = new Map<SpikeGroup, SpikeRow[]>()
  for (const def of FAMILIES) {
    const samples: Sample[] = timestamps.map((t, i) => ({
      tMs: t * 1000,
      value: values.get(def.id)?.[i] ?? null,
    }))
    const threshold = def.id === 'load1' ? (cpuCount > 0 ? cpuCount : undefined) : def.threshold
    families.push({ def, threshold, samples, summary: summarize(samples, threshold, stepMs) })
    if (def.spikes) {
      const list = candidates.get(def.spikes) ?? []
      for (const s of topSpikes(samples, SPIKES_PER_GROUP, separation))
        list.push({ group: def.spikes, family: def.title, tMs: s.tMs, value: s.value, unit: def.unit })
      candidates.set(def.spikes, list)
    }
  }
  const spikes: SpikeRow[] = []
  for (const g of SPIKE_GROUPS) {
    const list = candidates.get(g.id) ?? []
    // Disk read and write (or rx and tx) are different units of work: ranked together by value
    // within a group, as the bytes they moved.
    list.sort((a, b) => b.value - a.value || a.tMs - b.tMs)
    spikes.push(...list.slice(0, SPIKES_PER_GROUP))
  }
  return {
    kind: 'host',
    host: req.host,
    hostname: req.hostname,
    facts,
    fromMs: window.fromMs,
    toMs: window.toMs,
    stepMs,
    source,
    families,
    spikes,
    generatedAtMs: Date.now(),
  }
}

export type FleetResource = 'cpu' | 'mem' | 'disk' | 'net'

export const FLEET_RESOURCES: readonly { id: FleetResource; title: string; unit: FamilyDef['unit'] }[] = [
  { id: 'cpu', title: 'CPU busy', unit: 'percent' },
  { id: 'mem', title: 'Memory used', unit: 'percent' },
  { id: 'disk', title: 'Disk read + write', unit: 'bytes_per_s' },
  { id: 'net', title: 'Network received + sent', unit: 'bytes_per_s' },
]

export interface FleetRankRow {
  host: string
  hostname: string
  mean: number
  p95: number | null
  max: number | null
  maxAtMs: number | null
  samples: Sample[]
}

export interface FleetReport {
  kind: 'fleet'
  fromMs: number
  toMs: number
  stepMs: number
  source: string
  hostCount: number
  /** Per resource, the hosts with the highest mean over the window, highest first. */
  top: { resource: (typeof FLEET_RESOURCES)[number]; rows: FleetRankRow[] }[]
  generatedAtMs: number
}

export const FLEET_TOP = 10
/** The fleet reader's most points per host and signal (routes/fleet.ts MAX_FLEET_POINTS). */
export const FLEET_POINTS = 200

function mean(samples: Sample[]): number | null {
  const vs = samples.flatMap((s) => (s.value === null ? [] : [s.value]))
  return vs.length === 0 ? null : vs.reduce((a, b) => a + b, 0) / vs.length
}

export async function collectFleet(
  client: ClickHouseClient,
  database: string,
  req: { tenant: string; window: ReportWindow },
  progress: Progress,
  extraSteps: number,
): Promise<FleetReport> {
  const total = 1 + extraSteps
  progress(0, total, 'reading the fleet')
  const fleet = await queryFleet(client, database, {
    tenant: req.tenant,
    fromMs: req.window.fromMs,
    toMs: req.window.toMs,
    points: Math.max(2, Math.min(FLEET_POINTS, req.window.points)),
  })
  progress(1, total, 'ranking hosts')
  const top = FLEET_RESOURCES.map((resource) => {
    const rows: FleetRankRow[] = []
    for (const h of fleet.hosts) {
      const samples = sparkSamples(h, resource.id, fleet.timestamps)
      const m = mean(samples)
      if (m === null) continue
      const s = summarize(samples, undefined, fleet.step_ms)
      rows.push({
        host: h.host_id,
        hostname: h.hostname,
        mean: m,
        p95: s.p95,
        max: s.max,
        maxAtMs: s.maxAtMs,
        samples,
      })
    }
    rows.sort((a, b) => b.mean - a.mean || (a.hostname || a.host).localeCompare(b.hostname || b.host))
    return { resource, rows: rows.slice(0, FLEET_TOP) }
  })
  return {
    kind: 'fleet',
    fromMs: req.window.fromMs,
    toMs: req.window.toMs,
    stepMs: fleet.step_ms,
    source: fleet.source,
    hostCount: fleet.hosts.length,
    top,
    generatedAtMs: Date.now(),
  }
}

function sparkSamples(h: FleetHost, id: FleetResource, timestamps: number[]): Sample[] {
  return timestamps.map((t, i) => ({ tMs: t * 1000, value: h.spark[id][i] ?? null }))
}
