// What each dashboard panel asks the API for and how the answers become one chart frame.

import {
  cpuBusyPercent,
  filesystemUsage,
  loadAverages,
  memoryBreakdown,
  mirroredByDevice,
  pressurePercent,
} from './transform.js'

/**
 * @typedef {object} SeriesQuery
 * @property {string} metric node_exporter metric name
 * @property {'raw'|'rate'} fn
 * @property {string[]} [sumBy] labels to keep; the others are summed away
 */

/**
 * @typedef {object} Panel
 * @property {string} id
 * @property {string} title
 * @property {string} hint what the numbers mean, shown under the title
 * @property {boolean} [wide] spans the whole row of the grid
 * @property {import('./charts.js').ChartSpec} chart
 * @property {SeriesQuery[]} queries
 * @property {(responses: object[], options: { includeVirtual: boolean }) => object} build
 *   `includeVirtual` also brings in pseudo filesystems (tmpfs, overlay …)
 */

/** @type {Panel[]} */
export const PANELS = [
  {
    id: 'cpu',
    title: 'CPU',
    hint: 'busy % of all cores, by mode',
    chart: {
      unit: 'percent',
      height: 210,
      stacked: true,
      fixedRange: [0, 100],
      colors: {
        user: '#4e79a7',
        system: '#e15759',
        iowait: '#f28e2b',
        nice: '#59a14f',
        irq: '#b07aa1',
        softirq: '#ff9da7',
        steal: '#9c755f',
      },
    },
    queries: [{ metric: 'node_cpu_seconds_total', fn: 'rate', sumBy: ['mode'] }],
    build: ([cpu]) => cpuBusyPercent(cpu),
  },
  {
    id: 'memory',
    title: 'Memory',
    hint: 'used = total − available',
    chart: {
      unit: 'bytes',
      height: 210,
      stacked: true,
      colors: { used: '#e15759', cache: '#4e79a7', free: '#59a14f' },
    },
    queries: [
      { metric: 'node_memory_MemTotal_bytes', fn: 'raw' },
      { metric: 'node_memory_MemAvailable_bytes', fn: 'raw' },
      { metric: 'node_memory_MemFree_bytes', fn: 'raw' },
      { metric: 'node_memory_Buffers_bytes', fn: 'raw' },
      { metric: 'node_memory_Cached_bytes', fn: 'raw' },
    ],
    build: ([total, available, free, buffers, cached]) =>
      memoryBreakdown({ total, available, free, buffers, cached }),
  },
  {
    id: 'network',
    title: 'Network',
    hint: 'receive ↑ / transmit ↓ per interface',
    chart: { unit: 'bytesPerSecond', height: 210, mirrored: true },
    queries: [
      { metric: 'node_network_receive_bytes_total', fn: 'rate', sumBy: ['device'] },
      { metric: 'node_network_transmit_bytes_total', fn: 'rate', sumBy: ['device'] },
    ],
    build: ([rx, tx], { includeVirtual }) =>
      mirroredByDevice(rx, tx, { upName: 'rx', downName: 'tx', includeVirtual }),
  },
  {
    id: 'disk',
    title: 'Disk IO',
    hint: 'read ↑ / written ↓ per device',
    chart: { unit: 'bytesPerSecond', height: 210, mirrored: true },
    queries: [
      { metric: 'node_disk_read_bytes_total', fn: 'rate', sumBy: ['device'] },
      { metric: 'node_disk_written_bytes_total', fn: 'rate', sumBy: ['device'] },
    ],
    build: ([read, written], { includeVirtual }) =>
      mirroredByDevice(read, written, { upName: 'read', downName: 'written', includeVirtual }),
  },
  {
    id: 'load',
    title: 'Load average',
    hint: 'runnable + uninterruptible tasks',
    chart: {
      unit: 'number',
      height: 210,
      colors: { '1 min': '#4e79a7', '5 min': '#f28e2b', '15 min': '#59a14f' },
    },
    queries: [
      { metric: 'node_load1', fn: 'raw' },
      { metric: 'node_load5', fn: 'raw' },
      { metric: 'node_load15', fn: 'raw' },
    ],
    build: ([load1, load5, load15]) => loadAverages({ load1, load5, load15 }),
  },
  {
    id: 'pressure',
    title: 'Pressure',
    hint: '% of time tasks waited (some) / all stalled (full, dashed)',
    chart: {
      unit: 'percent',
      height: 210,
      colors: { cpu: '#4e79a7', memory: '#e15759', io: '#f28e2b' },
    },
    queries: [
      { metric: 'node_pressure_cpu_waiting_seconds_total', fn: 'rate' },
      { metric: 'node_pressure_memory_waiting_seconds_total', fn: 'rate' },
      { metric: 'node_pressure_memory_stalled_seconds_total', fn: 'rate' },
      { metric: 'node_pressure_io_waiting_seconds_total', fn: 'rate' },
      { metric: 'node_pressure_io_stalled_seconds_total', fn: 'rate' },
    ],
    build: (responses) => pressurePercent(responses),
  },
  {
    id: 'filesystems',
    title: 'Filesystems',
    hint: 'used % per mountpoint (1 − avail / size)',
    wide: true,
    chart: { unit: 'percent', height: 190, fixedRange: [0, 100] },
    queries: [
      { metric: 'node_filesystem_size_bytes', fn: 'raw' },
      { metric: 'node_filesystem_avail_bytes', fn: 'raw' },
    ],
    build: ([size, avail], { includeVirtual }) => filesystemUsage(size, avail, { includeVirtual }),
  },
]
