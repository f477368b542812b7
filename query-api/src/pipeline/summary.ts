import { histogramQuantile, samplesOf, sumOf, type ParsedExposition } from '#platform/prometheus-parse.ts'
import type { Scrape } from './scrape.ts'

export interface ComponentHealth {
  name: string
  url: string
  up: boolean
  /** From procstream_build_info; null when the page has none (not one of ours, or too old). */
  component: string | null
  version: string | null
  uptime_s: number | null
  error?: string
}

export interface Rate {
  /** Per second over the last `window_s`; null until two reads of the gateways (or processors) exist. */
  per_s: number | null
  total: number
}

export interface PipelineSummary {
  generated_at_ms: number
  components: ComponentHealth[]
  ingest: {
    records: Rate
    bytes: Rate
    /** Envelopes the processors stored: the rate past Kafka, agents sending to Kafka directly included. */
    stored_envelopes: Rate
    window_s: number | null
    note?: string
  }
  lag: { group: 'raw' | 'tiers'; partition: number; messages: number }[]
  freshness: {
    p50_s: number | null
    p99_s: number | null
    observations: number
    /** `recent`: the envelopes stored since the previous read; `since_start`: all of them. */
    window: 'recent' | 'since_start'
  }
  dead_letters: {
    by_reason: { reason: string; count: number }[]
    failures: number
    stalled_partitions: number
  }
  agents: {
    /** From the processors (counts only: no tenant, host or agent names leave them). */
    counts: { reporting: number; late: number; silent: number; spooling: number } | null
    /** The agents configured as targets, with their own spool and send numbers. */
    scraped: {
      name: string
      spool_records: number | null
      spool_bytes: number | null
      queued_records: number | null
      send_errors: number | null
      ticks_late: number | null
      dropped_records: number | null
      spooling: boolean
    }[]
  }
}

/** What one target's previous read left for the next one's rates and windows. */
export interface Baseline {
  atMs: number
  startTimeS: number | undefined
  counters: Map<string, number>
  freshness: Map<number, number>
}

/** Rates need this long between two reads; closer reads keep the older baseline. */
export const MIN_RATE_WINDOW_MS = 1_000
/** A baseline older than this is too old to say anything about "now". */
export const MAX_RATE_WINDOW_MS = 5 * 60_000

const RATE_COUNTERS = {
  records: 'procstream_ingest_records_total',
  bytes: 'procstream_ingest_bytes_total',
  stored_envelopes: 'procstream_processor_envelopes_total',
} as const
const FRESHNESS = 'procstream_processor_freshness_seconds_bucket'

function componentOf(page: ParsedExposition): { component: string | null; version: string | null } {
  const info = samplesOf(page, 'procstream_build_info')[0]
  return { component: info?.labels.component ?? null, version: info?.labels.version ?? null }
}

function bucketsOf(page: ParsedExposition): Map<number, number> {
  const buckets = new Map<number, number>()
  for (const s of samplesOf(page, FRESHNESS)) {
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le)
    if (!Number.isNaN(le)) buckets.set(le, (buckets.get(le) ?? 0) + s.value)
  }
  return buckets
}

/** The baseline to keep for a target after this read (the old one when this read came too soon). */
export function nextBaseline(scrape: Scrape, previous: Baseline | undefined): Baseline | undefined {
  const page = scrape.page
  if (page === undefined) return previous
  if (previous !== undefined && scrape.atMs - previous.atMs < MIN_RATE_WINDOW_MS) return previous
  const counters = new Map<string, number>()
  for (const name of Object.values(RATE_COUNTERS)) {
    const v = sumOf(page, name)
    if (v !== undefined) counters.set(name, v)
  }
  return {
    atMs: scrape.atMs,
    startTimeS: sumOf(page, 'process_start_time_seconds'),
    counters,
    freshness: bucketsOf(page),
  }
}

/** A baseline a rate may be taken against: same process (no restart in between), close enough in time. */
function usable(scrape: Scrape, b: Baseline | undefined): b is Baseline {
  if (b === undefined || scrape.page === undefined) return false
  const dt = scrape.atMs - b.atMs
  if (dt < MIN_RATE_WINDOW_MS || dt > MAX_RATE_WINDOW_MS) return false
  return sumOf(scrape.page, 'process_start_time_seconds') === b.startTimeS
}

/**
 * The pipeline view's answer from one read of every target, and each target's previous baseline.
 * Rates are per-second deltas against that baseline: the first read after start-up (or after a
 * target restarted) has none and says so in `ingest.note`; the page's next refresh has them.
 */
export function summarize(
  scrapes: readonly Scrape[],
  baselines: ReadonlyMap<string, Baseline>,
  nowMs: number,
): PipelineSummary {
  const components: ComponentHealth[] = []
  const pages: { scrape: Scrape; page: ParsedExposition; component: string | null }[] = []
  for (const scrape of scrapes) {
    const { target, page } = scrape
    if (page === undefined) {
      components.push({
        name: target.name,
        url: target.url,
        up: false,
        component: null,
        version: null,
        uptime_s: null,
        error: scrape.error ?? 'no answer',
      })
      continue
    }
    const { component, version } = componentOf(page)
    const start = sumOf(page, 'process_start_time_seconds')
    components.push({
      name: target.name,
      url: target.url,
      up: true,
      component,
      version,
      uptime_s: start === undefined ? null : Math.max(0, Math.round(scrape.atMs / 1000 - start)),
    })
    pages.push({ scrape, page, component })
  }

  const rate = (counter: string, kind: string): { rate: Rate; windows: number[]; missing: boolean } => {
    let total = 0
    let perS = 0
    let any = false
    let missing = false
    const windows: number[] = []
    for (const { scrape, page, component } of pages) {
      if (component !== kind) continue
      const now = sumOf(page, counter)
      if (now === undefined) continue
      total += now
      any = true
      const b = baselines.get(scrape.target.name)
      const before = b?.counters.get(counter)
      if (!usable(scrape, b) || before === undefined || now < before) {
        missing = true
        continue
      }
      const dt = (scrape.atMs - b.atMs) / 1000
      perS += (now - before) / dt
      windows.push(dt)
    }
    return { rate: { per_s: any && !missing ? perS : null, total }, windows, missing: any && missing }
  }
  const records = rate(RATE_COUNTERS.records, 'gateway')
  const bytes = rate(RATE_COUNTERS.bytes, 'gateway')
  const stored = rate(RATE_COUNTERS.stored_envelopes, 'processor')
  const windows = [...records.windows, ...stored.windows]
  const waiting = records.missing || bytes.missing || stored.missing

  const processors = pages.filter((p) => p.component === 'processor')

  // Every member reads the whole group's lag from the broker, so members repeat each other: the
  // largest (the latest read, as lag only grows between commits) of each partition is kept.
  const lag = new Map<string, { group: 'raw' | 'tiers'; partition: number; messages: number }>()
  for (const { page } of processors)
    for (const [group, name] of [
      ['raw', 'procstream_processor_consumer_lag_messages'],
      ['tiers', 'procstream_processor_tier_lag_messages'],
    ] as const)
      for (const s of samplesOf(page, name)) {
        const partition = Number(s.labels.partition)
        if (!Number.isInteger(partition)) continue
        const key = `${group}/${String(partition)}`
        const seen = lag.get(key)
        if (seen === undefined || s.value > seen.messages)
          lag.set(key, { group, partition, messages: s.value })
      }

  // Freshness of the envelopes stored since the previous read when there are any; else since start.
  const sinceStart = new Map<number, number>()
  const recent = new Map<number, number>()
  let recentUsable = processors.length > 0
  for (const { scrape, page } of processors) {
    const now = bucketsOf(page)
    const b = baselines.get(scrape.target.name)
    const ok = usable(scrape, b)
    if (!ok) recentUsable = false
    for (const [le, count] of now) {
      sinceStart.set(le, (sinceStart.get(le) ?? 0) + count)
      if (ok) recent.set(le, (recent.get(le) ?? 0) + count - (b.freshness.get(le) ?? 0))
    }
  }
  const toBuckets = (m: Map<number, number>): { le: number; count: number }[] =>
    [...m].map(([le, count]) => ({ le, count }))
  const recentCount = recent.get(Number.POSITIVE_INFINITY) ?? 0
  const useRecent = recentUsable && recentCount > 0
  const chosen = toBuckets(useRecent ? recent : sinceStart)
  const observations = useRecent ? recentCount : (sinceStart.get(Number.POSITIVE_INFINITY) ?? 0)

  const deadLetters = new Map<string, number>()
  for (const { page } of processors)
    for (const s of samplesOf(page, 'procstream_processor_dead_letters_total')) {
      const reason = s.labels.reason ?? ''
      deadLetters.set(reason, (deadLetters.get(reason) ?? 0) + s.value)
    }

  let counts: PipelineSummary['agents']['counts'] = null
  for (const { page } of processors) {
    const states = samplesOf(page, 'procstream_processor_agents')
    if (states.length === 0) continue
    counts ??= { reporting: 0, late: 0, silent: 0, spooling: 0 }
    for (const s of states) {
      const state = s.labels.state
      if (state === 'reporting' || state === 'late' || state === 'silent' || state === 'spooling')
        counts[state] += s.value
    }
  }
  const scraped = pages
    .filter((p) => p.component === 'agent')
    .map(({ scrape, page }) => {
      const spool = sumOf(page, 'procstream_agent_spool_records') ?? null
      return {
        name: scrape.target.name,
        spool_records: spool,
        spool_bytes: sumOf(page, 'procstream_agent_spool_bytes') ?? null,
        queued_records: sumOf(page, 'procstream_agent_queued_records') ?? null,
        send_errors: sumOf(page, 'procstream_agent_send_errors_total') ?? null,
        ticks_late: sumOf(page, 'procstream_agent_ticks_late_total') ?? null,
        dropped_records: sumOf(page, 'procstream_agent_dropped_records_total') ?? null,
        spooling: (spool ?? 0) > 0,
      }
    })

  const sum = (name: string): number =>
    processors.reduce((acc, { page }) => acc + (sumOf(page, name) ?? 0), 0)

  return {
    generated_at_ms: nowMs,
    components,
    ingest: {
      records: records.rate,
      bytes: bytes.rate,
      stored_envelopes: stored.rate,
      window_s: windows.length === 0 ? null : Math.round(Math.max(...windows) * 10) / 10,
      ...(waiting && { note: 'rate available from the next refresh' }),
    },
    lag: [...lag.values()].sort((a, b) =>
      a.group === b.group ? a.partition - b.partition : a.group < b.group ? -1 : 1,
    ),
    freshness: {
      p50_s: histogramQuantile(0.5, chosen) ?? null,
      p99_s: histogramQuantile(0.99, chosen) ?? null,
      observations,
      window: useRecent ? 'recent' : 'since_start',
    },
    dead_letters: {
      by_reason: [...deadLetters]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1)),
      failures: sum('procstream_processor_dead_letter_failures_total'),
      stalled_partitions: sum('procstream_processor_dead_letter_stalled_partitions'),
    },
    agents: { counts, scraped },
  }
}
