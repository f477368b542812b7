import { formatGoFloat } from './go-float.ts'

/** What a metric name's `# HELP` and `# TYPE` lines say. */
export interface MetricMetadata {
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram' | 'untyped'
}

/** One series value: a name, its labels, a value. */
export interface ExposedPoint {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

interface Series {
  /** Label values in label-name order: what client_golang sorts series by. */
  readonly sortKey: readonly string[]
  readonly line: string
}

const HISTOGRAM_PARTS = /_(bucket|sum|count)$/

/**
 * Points in Prometheus text exposition format 0.0.4, laid out as client_golang does: metric names
 * sorted, `# HELP` and `# TYPE` once per name, series of a name sorted by their label values with
 * labels in name order, values printed like Go. A histogram's `_bucket`, `_sum` and `_count` series
 * go under one HELP/TYPE of the histogram's name, in the order given (buckets by increasing `le`).
 * Names `info` knows nothing of get `untyped` and no HELP. Points are written as given: a caller
 * passing the same series twice gets it twice.
 */
export function formatMetricPoints(
  points: Iterable<ExposedPoint>,
  info: (name: string) => MetricMetadata | undefined,
): string {
  const byFamily = new Map<string, Series[]>()
  const familyOf = (name: string): string => {
    if (info(name) !== undefined || !HISTOGRAM_PARTS.test(name)) return name
    const base = name.replace(HISTOGRAM_PARTS, '')
    return info(base)?.type === 'histogram' ? base : name
  }
  for (const point of points) {
    const labelNames = Object.keys(point.labels).sort()
    const values = labelNames.map((label) => point.labels[label] ?? '')
    const labelText =
      labelNames.length === 0
        ? ''
        : `{${labelNames.map((label, i) => `${label}="${escapeLabelValue(values[i] ?? '')}"`).join(',')}}`
    const series: Series = {
      sortKey: values,
      line: `${point.name}${labelText} ${formatGoFloat(point.value)}`,
    }
    const family = familyOf(point.name)
    const existing = byFamily.get(family)
    if (existing === undefined) byFamily.set(family, [series])
    else existing.push(series)
  }

  const lines: string[] = []
  for (const name of [...byFamily.keys()].sort(compareStrings)) {
    const meta = info(name)
    if (meta !== undefined) lines.push(`# HELP ${name} ${escapeHelp(meta.help)}`)
    lines.push(`# TYPE ${name} ${meta?.type ?? 'untyped'}`)
    const series = byFamily.get(name) ?? []
    if (meta?.type !== 'histogram') series.sort(compareSeries)
    for (const s of series) lines.push(s.line)
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

/** Byte order, as Go compares strings (for ASCII, UTF-16 code unit order is the same). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareSeries(a: Series, b: Series): number {
  const n = Math.min(a.sortKey.length, b.sortKey.length)
  for (let i = 0; i < n; i++) {
    const order = compareStrings(a.sortKey[i] ?? '', b.sortKey[i] ?? '')
    if (order !== 0) return order
  }
  return a.sortKey.length - b.sortKey.length
}

export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))
}

function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'))
}
