// Pure: keeps /api/series answers current from /api/live messages, so every panel's `build` (and the
// metric charts' `familyFrame`) shapes live data exactly as it shapes a stored answer. No DOM.

/** Empty steps at the end of a stored answer up to this long (s) are taken as not stored yet. */
const NOT_STORED_YET_S = 10

/**
 * The labels a query keeps: all of them, or only `sumBy` (the others summed away, as `sum_by` does).
 * Returned with the key that identifies the label set.
 */
function keptLabels(labelsJson, sumBy) {
  let labels
  try {
    labels = JSON.parse(labelsJson)
  } catch {
    labels = {}
  }
  if (!labels || typeof labels !== 'object') labels = {}
  if (!sumBy) return { labels, key: labelsJson }
  const kept = {}
  for (const name of sumBy) if (labels[name] !== undefined) kept[name] = labels[name]
  return { labels: kept, key: JSON.stringify(sumBy.map((name) => kept[name] ?? null)) }
}

function labelKey(labels, sumBy) {
  if (sumBy) return JSON.stringify(sumBy.map((name) => labels[name] ?? null))
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]])
  return JSON.stringify(Object.fromEntries(sorted))
}

/**
 * Per-second rates of a counter's raw points, for counters the processor sends no rates for
 * (node_exporter's untyped ones, such as node_netstat_*, charted as rates on request): the increase
 * since the previous point of the series (a decrease is a reset), as /api/series computes them.
 * `previous` (labels → [ts µs, value]) carries the last points from one message to the next.
 */
export function ratesFromPoints(points, metric, previous) {
  const out = []
  for (const [m, labels, tsUs, value] of points) {
    if (m !== metric) continue
    const prev = previous.get(labels)
    if (prev && tsUs > prev[0]) {
      const increase = value >= prev[1] ? value - prev[1] : value
      out.push([m, labels, tsUs, increase / ((tsUs - prev[0]) / 1e6)])
    }
    if (!prev || tsUs > prev[0]) previous.set(labels, [tsUs, value])
  }
  return out
}

/**
 * The values one message brings for one query, per sample instant and label set: the processor's
 * per-second `rates` for `fn: 'rate'` (or rates of the points when it sends none for the metric, see
 * ratesFromPoints), the stored `points` otherwise, summed over the labels `sumBy` leaves out (CPU
 * modes over cpus, network bytes over nothing but the device).
 * @param {{ points: any[], rates: any[] }} message
 * @param {{ metric: string, fn?: 'raw'|'rate', sumBy?: string[] }} query
 * @param {Map<string, [number, number]>} [previous] the last raw points, for ratesFromPoints
 * @returns {Map<number, Map<string, { labels: object, value: number }>>} seconds → label key → value
 */
export function messageValues(message, query, previous = new Map()) {
  let tuples = message.points
  if (query.fn === 'rate') {
    tuples = message.rates.filter((p) => p[0] === query.metric)
    const derived = ratesFromPoints(message.points, query.metric, previous)
    if (tuples.length === 0) tuples = derived
  }
  const sumBy = query.sumBy?.length ? query.sumBy : null
  const out = new Map()
  for (const [metric, labelsJson, tsUs, value] of tuples) {
    if (metric !== query.metric) continue
    const t = tsUs / 1e6
    let row = out.get(t)
    if (!row) out.set(t, (row = new Map()))
    const { labels, key } = keptLabels(labelsJson, sumBy)
    const cell = row.get(key)
    if (cell) cell.value += value
    else row.set(key, { labels, value })
  }
  return out
}

/**
 * One query's series, as /api/series answers them (`timestamps` in seconds, one `values` column per
 * label set), kept current by live messages and trimmed to the range.
 * @param {{ metric: string, fn?: 'raw'|'rate', sumBy?: string[] }} query
 */
export function createSeriesBuffer(query) {
  const sumBy = query.sumBy?.length ? query.sumBy : null
  let timestamps = []
  /** label key → { labels, values } with `values` as long as `timestamps`. */
  let series = new Map()
  /** Newest instant holding a value: a live point at or before it is already in the stored answer. */
  let newest = -Infinity
  /** The last raw point per series, for a counter the processor sends no rates for. */
  let previous = new Map()

  function insertAt(t) {
    // Samples arrive in order, so the common case is an append.
    let i = timestamps.length
    while (i > 0 && timestamps[i - 1] > t) i--
    if (i > 0 && timestamps[i - 1] === t) return i - 1
    timestamps.splice(i, 0, t)
    for (const s of series.values()) s.values.splice(i, 0, null)
    return i
  }

  return {
    query,

    /** Starts again from a stored answer (`api.series`'s shape). */
    load(response) {
      timestamps = [...response.timestamps]
      series = new Map()
      newest = -Infinity
      previous = new Map()
      for (const s of response.series) {
        const values = timestamps.map((_, i) => s.values[i] ?? null)
        series.set(labelKey(s.labels, sumBy), { labels: s.labels, values })
        for (let i = values.length - 1; i >= 0; i--) {
          if (values[i] != null) {
            newest = Math.max(newest, timestamps[i])
            break
          }
        }
      }
      // Steps just after the newest value are not stored yet (the pipeline is a second or two
      // behind), not a gap: left in, they would break the line where the stream's points take over.
      // A host silent for longer keeps its empty steps, so the chart still shows the silence.
      const keep = timestamps.filter((t) => t <= newest).length
      const last = timestamps[timestamps.length - 1] ?? newest
      if (Number.isFinite(newest) && keep < timestamps.length && last - newest <= NOT_STORED_YET_S) {
        timestamps = timestamps.slice(0, keep)
        for (const s of series.values()) s.values = s.values.slice(0, keep)
      }
    },

    /** Adds what a message holds for this query; true when something changed. */
    add(message) {
      const byTime = messageValues(message, query, previous)
      let changed = false
      for (const [t, row] of [...byTime].sort((a, b) => a[0] - b[0])) {
        if (t <= newest) continue
        const i = insertAt(t)
        for (const [key, { labels, value }] of row) {
          let s = series.get(key)
          if (!s) {
            s = { labels, values: new Array(timestamps.length).fill(null) }
            series.set(key, s)
          }
          s.values[i] = value
        }
        newest = t
        changed = true
      }
      return changed
    },

    /** Drops the instants before `fromSeconds`; true when something went. */
    trim(fromSeconds) {
      let n = 0
      while (n < timestamps.length && timestamps[n] < fromSeconds) n++
      if (n === 0) return false
      timestamps = timestamps.slice(n)
      for (const s of series.values()) s.values = s.values.slice(n)
      return true
    },

    /** The newest instant with a value, in seconds (-Infinity when none). */
    get newest() {
      return newest
    },

    /** The answer as api.series returns it, for a panel's `build`. */
    response() {
      return {
        timestamps,
        series: [...series.values()].map((s) => ({ labels: s.labels, values: s.values })),
        stepMs: null,
      }
    },
  }
}
