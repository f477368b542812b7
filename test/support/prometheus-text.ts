/** Prometheus text exposition, parsed into series keyed by `name{sorted labels}`; enough for comparisons. */
export type SeriesMap = Map<string, number>

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

export function seriesKey(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k] ?? ''}"`)
  return `${name}{${parts.join(',')}}`
}

export function parsePrometheusText(text: string): SeriesMap {
  const out: SeriesMap = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (!m?.[1] || m[3] === undefined) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) if (l[1] !== undefined) labels[l[1]] = l[2] ?? ''
    out.set(seriesKey(m[1], labels), Number(m[3]))
  }
  return out
}

export function metricName(key: string): string {
  return key.slice(0, key.indexOf('{'))
}
