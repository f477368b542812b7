// Turns /api/series responses into chart frames. Pure functions, no DOM, no uPlot.
//
// A frame is `{ timestamps: number[], series: [{ name, values: (number|null)[], key? }] }` with every
// `values` array as long as `timestamps` (uPlot's aligned-data shape).

/** CPU modes in stacking order: the ones people look for first sit at the bottom. */
export const CPU_BUSY_MODES = ['user', 'system', 'iowait', 'nice', 'irq', 'softirq', 'steal']

/**
 * Virtual devices hidden unless the user asks for them: loopback, loop mounts, RAM disks, container
 * veth pairs and bridges. The fleet view leaves out the same ones (VIRTUAL_DEVICE_RE2 in
 * query-api/src/fleet-query.ts), so a host ranks by the traffic its panels show.
 */
const VIRTUAL_DEVICE = /^(lo|loop\d+|ram\d+|zram\d+|fd\d+|veth.*|docker.*)$/

export function isVirtualDevice(device) {
  return VIRTUAL_DEVICE.test(device)
}

/**
 * Pseudo and in-memory filesystems, which node_exporter dashboards leave out of disk space: their
 * "size" is RAM or another filesystem's space, and /run at 100 % is no reason to worry.
 */
const VIRTUAL_FSTYPE = /^(tmpfs|devtmpfs|ramfs|rootfs|overlay|squashfs|nsfs|iso9660|efivarfs|fuse\.lxcfs)$/

export function isVirtualFilesystem(fstype) {
  return VIRTUAL_FSTYPE.test(fstype)
}

/**
 * Outer-joins several responses on their timestamps. Requests sent with the same from/to/points
 * normally share one time grid, so the common case returns the arrays untouched.
 */
export function align(responses) {
  const first = responses[0]
  if (!first) return { timestamps: [], columns: [] }
  const same = responses.every((r) => sameTimestamps(r.timestamps, first.timestamps))
  if (same) return { timestamps: first.timestamps, columns: responses.map((r) => r.series) }

  const all = new Set()
  for (const r of responses) for (const t of r.timestamps) all.add(t)
  const timestamps = [...all].sort((a, b) => a - b)
  const position = new Map(timestamps.map((t, i) => [t, i]))
  const columns = responses.map((r) =>
    r.series.map((s) => {
      const values = new Array(timestamps.length).fill(null)
      r.timestamps.forEach((t, i) => {
        values[position.get(t)] = s.values[i] ?? null
      })
      return { labels: s.labels, values }
    }),
  )
  return { timestamps, columns }
}

function sameTimestamps(a, b) {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Values of a single-series metric, or an all-null column when the host does not report it. */
function single(column, length) {
  return column[0]?.values ?? new Array(length).fill(null)
}

/**
 * Per-mode busy % from `rate(node_cpu_seconds_total)` summed by mode: each mode's share of the sum over
 * all modes (idle included), so the result does not depend on the number of cores.
 */
export function cpuBusyPercent(response) {
  const { timestamps, series } = response
  const total = new Array(timestamps.length).fill(0)
  for (const s of series) {
    s.values.forEach((v, i) => {
      total[i] = v == null || total[i] == null ? null : total[i] + v
    })
  }
  const byMode = new Map(series.map((s) => [s.labels.mode, s.values]))
  const out = []
  for (const mode of CPU_BUSY_MODES) {
    const values = byMode.get(mode)
    if (!values) continue
    out.push({
      name: mode,
      key: mode,
      values: values.map((v, i) => {
        const t = total[i]
        return v == null || t == null || t <= 0 ? null : (v / t) * 100
      }),
    })
  }
  return { timestamps, series: out }
}

/**
 * Memory split the way `free` shows it: used = MemTotal − MemAvailable (what the kernel could not hand
 * out right now), page cache + buffers, and truly free pages.
 */
export function memoryBreakdown({ total, available, free, buffers, cached }) {
  const { timestamps, columns } = align([total, available, free, buffers, cached])
  const n = timestamps.length
  const [totalV, availV, freeV, buffersV, cachedV] = columns.map((c) => single(c, n))
  const used = totalV.map((t, i) => (t == null || availV[i] == null ? null : t - availV[i]))
  const cache = buffersV.map((b, i) => (b == null || cachedV[i] == null ? null : b + cachedV[i]))
  return {
    timestamps,
    series: [
      { name: 'used', key: 'used', values: used },
      { name: 'cache + buffers', key: 'cache', values: cache },
      { name: 'free', key: 'free', values: freeV },
    ],
  }
}

/**
 * One chart for a pair of per-device counters (receive/transmit, read/written): the first direction
 * above the axis, the second mirrored below it, both sharing the device's colour key.
 */
export function mirroredByDevice(up, down, { upName, downName, includeVirtual }) {
  const { timestamps, columns } = align([up, down])
  const [upCol, downCol] = columns
  const devices = new Set()
  for (const s of [...upCol, ...downCol]) {
    const device = s.labels.device ?? ''
    if (includeVirtual || !isVirtualDevice(device)) devices.add(device)
  }
  const series = []
  for (const device of [...devices].sort()) {
    const u = upCol.find((s) => (s.labels.device ?? '') === device)
    const d = downCol.find((s) => (s.labels.device ?? '') === device)
    if (u) series.push({ name: `${device} ${upName}`, key: device, values: u.values })
    if (d) {
      series.push({
        name: `${device} ${downName}`,
        key: device,
        mirrored: true,
        values: d.values.map((v) => (v == null ? null : -v)),
      })
    }
  }
  return { timestamps, series }
}

/**
 * Used % per mountpoint, 100 × (1 − avail / size) as node_exporter dashboards draw it: `avail` is what
 * an unprivileged writer can still use, so a disk whose root reserve is all that remains reads 100 %.
 * A mountpoint mounted twice (bind mounts) is drawn once.
 */
export function filesystemUsage(size, avail, { includeVirtual }) {
  const { timestamps, columns } = align([size, avail])
  const [sizeCol, availCol] = columns
  const byMount = new Map()
  for (const s of sizeCol) {
    const { mountpoint = '', fstype = '', device = '' } = s.labels
    if ((!includeVirtual && isVirtualFilesystem(fstype)) || byMount.has(mountpoint)) continue
    const a = availCol.find((x) => x.labels.mountpoint === mountpoint && (x.labels.device ?? '') === device)
    if (!a) continue
    byMount.set(
      mountpoint,
      s.values.map((total, i) => {
        const free = a.values[i]
        return total == null || free == null || total <= 0 ? null : (1 - free / total) * 100
      }),
    )
  }
  const series = [...byMount.keys()]
    .sort()
    .map((mountpoint) => ({ name: mountpoint, key: mountpoint, values: byMount.get(mountpoint) }))
  return { timestamps, series }
}

/** PSI lines: `waiting` is node_exporter's "some", `stalled` its "full" (every non-idle task stalled). */
const PRESSURE_LINES = [
  { name: 'cpu waiting', key: 'cpu' },
  { name: 'memory waiting', key: 'memory' },
  { name: 'memory stalled', key: 'memory', dashed: true },
  { name: 'io waiting', key: 'io' },
  { name: 'io stalled', key: 'io', dashed: true },
]

/**
 * The rates of the pressure counters (seconds stalled per second) as a percentage of wall time, in
 * the order of PRESSURE_LINES. A resource the kernel does not report (no PSI, or no cpu "full") has
 * no line rather than a flat zero.
 */
export function pressurePercent(responses) {
  const { timestamps, columns } = align(responses)
  const series = []
  columns.forEach((column, i) => {
    const line = PRESSURE_LINES[i]
    const values = column[0]?.values
    if (!line || !values) return
    series.push({ ...line, values: values.map((v) => (v == null ? null : v * 100)) })
  })
  return { timestamps, series }
}

/** node_load1/5/15 side by side. */
export function loadAverages({ load1, load5, load15 }) {
  const { timestamps, columns } = align([load1, load5, load15])
  const n = timestamps.length
  const names = ['1 min', '5 min', '15 min']
  return {
    timestamps,
    series: columns.map((c, i) => ({ name: names[i], key: names[i], values: single(c, n) })),
  }
}

/**
 * Running totals for a stacked area chart. A null stays null (a gap) instead of counting as zero, which
 * would draw a fake dip.
 */
export function stack(columns) {
  const length = columns[0]?.length ?? 0
  const accum = new Array(length).fill(0)
  return columns.map((values) =>
    values.map((v, i) => {
      if (v == null) return null
      accum[i] += v
      return accum[i]
    }),
  )
}

/** True once at least one point of one series has a value. */
export function hasData(frame) {
  return frame.timestamps.length > 0 && frame.series.some((s) => s.values.some((v) => v != null))
}
