// What the "everything this host sends" section shows: metric names grouped by collector prefix, how
// each is charted (rate or raw, unit) and its series as a chart frame. Pure functions, no DOM.

/**
 * Collector prefixes of more than one word: node_exporter's conntrack, thermal_zone, powersupplyclass
 * and udp_queues collectors name their metrics `node_nf_conntrack_*`, `node_thermal_zone_*`,
 * `node_cooling_device_*`, `node_power_supply_*` and `node_udp_queues`.
 */
const MULTI_WORD_PREFIXES = [
  'node_nf_conntrack',
  'node_thermal_zone',
  'node_cooling_device',
  'node_power_supply',
  'node_udp_queues',
]

/** Most series one family chart draws; the rest are counted in a note under it. */
export const MAX_CHART_SERIES = 20

/**
 * The group a metric name belongs to: `node_<collector>` (`node_netstat_Tcp_CurrEstab` → `node_netstat`),
 * or the first two words of another namespace (`procstream_agent_read_errors_total` → `procstream_agent`).
 * A trailing number is not a collector: `node_load1`, `node_load5` and `node_load15` share `node_load`.
 */
export function groupKeyOf(name) {
  for (const prefix of MULTI_WORD_PREFIXES) {
    if (name === prefix || name.startsWith(`${prefix}_`)) return prefix
  }
  const words = name.split('_')
  if (words.length >= 3 && words[0] !== '') return `${words[0]}_${words[1]}`
  if (words.length === 2 && words[0] !== '') return `${words[0]}_${words[1].replace(/\d+$/, '') || words[1]}`
  return name
}

/**
 * Names grouped by `groupKeyOf`, groups and names sorted. `label` is how the group is titled:
 * `node_netstat_*`, `node_load*` when a name runs on without an underscore, or the name of a group
 * that is just that name.
 *
 * @param {string[]} names
 * @returns {{ key: string, label: string, names: string[] }[]}
 */
export function groupFamilies(names) {
  const groups = new Map()
  for (const name of new Set(names)) {
    const key = groupKeyOf(name)
    let list = groups.get(key)
    if (!list) {
      list = []
      groups.set(key, list)
    }
    list.push(name)
  }
  return [...groups.keys()].sort(compareText).map((key) => {
    const list = groups.get(key).sort(compareText)
    const label =
      list.length === 1 && list[0] === key
        ? key
        : list.every((n) => n.startsWith(`${key}_`))
          ? `${key}_*`
          : `${key}*`
    return { key, label, names: list }
  })
}

function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A counter (charted as its per-second rate): TYPE counter, or a name ending `_total`. */
export function isCounter(name, type) {
  return type === 'counter' || name.endsWith('_total')
}

/** The chart unit a metric reads in: bytes (per second when rated) or a plain number. */
export function unitFor(name, rate) {
  if (/_bytes(_total)?$/.test(name)) return rate ? 'bytesPerSecond' : 'bytes'
  return 'number'
}

/** A series' legend text from its labels, sorted by name: `chip=platform_coretemp_0, sensor=temp1`. */
export function seriesLabel(labels, fallback) {
  const names = Object.keys(labels ?? {}).sort(compareText)
  if (names.length === 0) return fallback
  return names.map((n) => `${n}=${labels[n]}`).join(', ')
}

/**
 * One /api/series response as a chart frame. Past `maxSeries` series, the largest (mean absolute value)
 * are kept, in label order, so a family with hundreds of series (interrupts per CPU) stays readable.
 *
 * @param {{ timestamps: number[], series: { labels: Record<string, string>, values: (number|null)[] }[] }} response
 * @returns {{ frame: { timestamps: number[], series: { name: string, key: string, values: (number|null)[] }[] }, total: number }}
 */
export function familyFrame(response, { metric, maxSeries = MAX_CHART_SERIES }) {
  let series = response.series
  if (series.length > maxSeries) {
    const weight = (s) => {
      let sum = 0
      let n = 0
      for (const v of s.values) {
        if (v == null) continue
        sum += Math.abs(v)
        n++
      }
      return n === 0 ? -1 : sum / n
    }
    const kept = new Set(
      series
        .map((s, i) => ({ i, w: weight(s) }))
        .sort((a, b) => b.w - a.w || a.i - b.i)
        .slice(0, maxSeries)
        .map((x) => x.i),
    )
    series = series.filter((_s, i) => kept.has(i))
  }
  const named = series.map((s) => {
    const name = seriesLabel(s.labels, metric)
    return { name, key: name, values: s.values }
  })
  const frame = dropEmptySteps({ timestamps: response.timestamps, series: named })
  return { frame, total: response.series.length }
}

/**
 * A metric sampled less often than the chart's steps (a collector read every minute, on a chart of
 * one step per second) has a value in only every n-th step, and uPlot draws no line across an empty
 * step. When most steps between values are empty, the empty ones are dropped, so consecutive samples
 * join up; a gap of more than twice the usual spacing keeps one empty step, and so stays a gap. The
 * first and last steps stay too, so the time axis still spans the whole range.
 */
export function dropEmptySteps(frame) {
  const { timestamps, series } = frame
  const filled = []
  for (let i = 0; i < timestamps.length; i++) {
    if (series.some((s) => s.values[i] != null)) filled.push(i)
  }
  if (filled.length < 2) return frame
  const spacings = filled
    .slice(1)
    .map((v, k) => v - filled[k])
    .sort((a, b) => a - b)
  // The lower median: a mostly dense series with a few holes keeps them.
  const spacing = spacings[Math.floor((spacings.length - 1) / 2)]
  if (spacing <= 1) return frame
  const keep = []
  if (filled[0] > 0) keep.push(0)
  let previous = null
  for (const i of filled) {
    if (previous !== null && i - previous > 2 * spacing) keep.push(previous + 1)
    keep.push(i)
    previous = i
  }
  const last = timestamps.length - 1
  if (previous < last) keep.push(last)
  return {
    timestamps: keep.map((i) => timestamps[i]),
    series: series.map((s) => ({ ...s, values: keep.map((i) => s.values[i] ?? null) })),
  }
}
