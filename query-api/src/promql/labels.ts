/**
 * Label sets as PromQL sees them. A stored series is (metric, host, labels JSON); PromQL sees it as
 * `__name__` = metric, the JSON's labels, and three labels of its host:
 * - `host`: the host id the agent reports (its machine id), stable for the host's life;
 * - `instance`: the host's name, what node_exporter dashboards select on;
 * - `job`: always `node`, so dashboards written for node_exporter's `job="node"` work unchanged.
 */
export type Labels = Record<string, string>

export const NAME = '__name__'
export const JOB = 'node'

export function seriesLabels(metric: string, host: string, hostname: string, json: string): Labels {
  const parsed = JSON.parse(json) as Labels
  return { ...parsed, [NAME]: metric, host, instance: hostname || host, job: JOB }
}

/** A canonical key of a label set: sorted names, so equal sets have equal keys. */
export function labelsKey(labels: Labels): string {
  const names = Object.keys(labels).sort()
  let key = ''
  for (const n of names) key += `${n}\u0000${labels[n] ?? ''}\u0001`
  return key
}

export function withoutName(labels: Labels): Labels {
  if (!(NAME in labels)) return labels
  const { [NAME]: _dropped, ...rest } = labels
  return rest
}

/** The labels listed, those absent as absent (Prometheus treats absent and empty alike). */
export function keepOnly(labels: Labels, names: readonly string[]): Labels {
  const out: Labels = {}
  for (const n of names) {
    const v = labels[n]
    if (v !== undefined && v !== '') out[n] = v
  }
  return out
}

export function dropLabels(labels: Labels, names: readonly string[]): Labels {
  if (names.length === 0) return labels
  return Object.fromEntries(Object.entries(labels).filter(([n]) => !names.includes(n)))
}

/** Prometheus orders a result's series by their label sets, name first then value, label by label. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = Object.keys(a).sort()
  const bn = Object.keys(b).sort()
  for (let i = 0; i < Math.min(an.length, bn.length); i++) {
    const ka = an[i] as string
    const kb = bn[i] as string
    if (ka !== kb) return ka < kb ? -1 : 1
    const va = a[ka] as string
    const vb = b[kb] as string
    if (va !== vb) return va < vb ? -1 : 1
  }
  return an.length - bn.length
}
