import { processUsage } from './process-usage.ts'

/**
 * What the run watches from outside the pipeline, as a user would: the processor's /metrics (rows
 * stored, lag), the query API (freshness probes and a dashboard query, timed), and each process's
 * CPU and memory from /proc.
 */

/** Sums of the named series in a Prometheus text exposition, by metric name. */
export function metricSums(text: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const name = m[1] as string
    if (name in out) out[name] = (out[name] ?? 0) + Number(m[3])
  }
  return out
}

export async function processorMetrics(
  url: string,
): Promise<{ rows: number; envelopes: number; lag: number; tierLag: number }> {
  const text = await (await fetch(url)).text()
  const s = metricSums(text, [
    'procstream_processor_rows_total',
    'procstream_processor_envelopes_total',
    'procstream_processor_consumer_lag_messages',
    'procstream_processor_tier_lag_messages',
  ])
  return {
    rows: s.procstream_processor_rows_total ?? 0,
    envelopes: s.procstream_processor_envelopes_total ?? 0,
    lag: s.procstream_processor_consumer_lag_messages ?? 0,
    // The rollup tiers are fed in batches of about 10 s by a group of their own: the audit waits for it.
    tierLag: s.procstream_processor_tier_lag_messages ?? 0,
  }
}

export async function sql<T extends unknown[]>(apiUrl: string, key: string, query: string): Promise<T[]> {
  const res = await fetch(`${apiUrl}/api/v1/sql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' },
    body: query,
  })
  const body = (await res.json()) as { rows?: T[]; error?: string }
  if (!res.ok || !body.rows)
    throw new Error(`SQL failed (${String(res.status)}): ${body.error ?? ''}: ${query}`)
  return body.rows
}

/**
 * Freshness from outside: a few probe hosts are polled for records that became queryable since the
 * last poll; each record's freshness is the poll's answer time minus its sample time. An upper bound,
 * late by at most one poll period plus the query's own time.
 */
export class FreshnessProbe {
  private readonly cursor = new Map<string, number>()
  readonly samplesMs: number[] = []

  constructor(
    private readonly apiUrl: string,
    private readonly key: string,
    hosts: readonly string[],
  ) {
    for (const h of hosts) this.cursor.set(h, -1)
  }

  /** One poll; returns how long the query took, in ms. */
  async poll(): Promise<number> {
    const where = [...this.cursor].map(([h, seq]) => `(host = '${h}' AND seq > ${String(seq)})`).join(' OR ')
    const t0 = performance.now()
    const rows = await sql<[string, number | string, number | string, number | string]>(
      this.apiUrl,
      this.key,
      `SELECT host, toUnixTimestamp64Micro(ts) AS t, count() AS n, max(seq) AS s FROM samples WHERE ${where} GROUP BY host, t`,
    )
    const answeredUs = Date.now() * 1000
    const took = performance.now() - t0
    for (const [host, t, n, s] of rows) {
      const first = (this.cursor.get(host) ?? -1) === -1
      this.cursor.set(host, Math.max(this.cursor.get(host) ?? -1, Number(s)))
      // Records that were already stored before the first poll say nothing about freshness.
      if (first) continue
      const ms = (answeredUs - Number(t)) / 1000
      for (let i = 0; i < Number(n); i++) this.samplesMs.push(ms)
    }
    return took
  }
}

export function percentiles(values: readonly number[]): {
  p50: number
  p95: number
  p99: number
  max: number
} {
  if (values.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0 }
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? 0 }
}

/** CPU share of one core and RSS of each process since the last call. */
export class ProcessWatch {
  private last = new Map<number, { cpuSeconds: number; at: number }>()
  readonly peakRss = new Map<string, number>()
  readonly cpuSeconds = new Map<string, number>()

  constructor(private readonly pids: Record<string, number>) {
    for (const pid of Object.values(pids))
      this.last.set(pid, { cpuSeconds: this.usage(pid)?.cpuSeconds ?? 0, at: performance.now() })
  }

  private usage(pid: number): { cpuSeconds: number; rssBytes: number } | undefined {
    try {
      return processUsage(pid)
    } catch {
      return undefined
    }
  }

  sample(): Record<string, { cpuPercent: number; rssMb: number }> {
    const out: Record<string, { cpuPercent: number; rssMb: number }> = {}
    for (const [name, pid] of Object.entries(this.pids)) {
      const u = this.usage(pid)
      const prev = this.last.get(pid)
      if (!u || !prev) continue
      const now = performance.now()
      const cpuPercent = ((u.cpuSeconds - prev.cpuSeconds) / ((now - prev.at) / 1000)) * 100
      this.last.set(pid, { cpuSeconds: u.cpuSeconds, at: now })
      this.cpuSeconds.set(name, (this.cpuSeconds.get(name) ?? 0) + (u.cpuSeconds - prev.cpuSeconds))
      this.peakRss.set(name, Math.max(this.peakRss.get(name) ?? 0, u.rssBytes))
      out[name] = { cpuPercent, rssMb: u.rssBytes / 2 ** 20 }
    }
    return out
  }
}
