import type { NatsConnection } from 'nats'
import type { RatePoint } from './counter-rates.ts'
import type { RowBatch, SeriesRef } from './rows.ts'

/** `procstream.live.<tenant>.<host>`: one subject per host, so a chart subscribes to exactly its host. */
export const LIVE_SUBJECT_PREFIX = 'procstream.live'

/**
 * A NATS subject token from a tenant or host name: `.`, `*`, `>` and whitespace would split or widen
 * the subject, so they (and `%`, the escape itself) are percent-encoded, reversibly.
 */
export function subjectToken(name: string): string {
  return name.replace(/[.*>%\s]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

export function liveSubject(tenant: string, host: string): string {
  return `${LIVE_SUBJECT_PREFIX}.${subjectToken(tenant)}.${subjectToken(host)}`
}

/**
 * One message: a host's points of one chunk, `[metric, labels (canonical JSON), ts (µs), value]`, and
 * the per-second rates of its counters at the same instants (`counter-rates.ts`), so a live chart of a
 * counter needs no previous value of its own.
 */
export interface LiveMessage {
  tenant: string
  host: string
  points: [metric: string, labels: string, tsUs: number, value: number][]
  /** Absent from processors older than this field. */
  rates?: RatePoint[]
}

/**
 * Publishes what a chunk stored, per host, once the insert succeeded: a chart that draws these points
 * shows nothing the API would not return. At most once per attempt and again on a replay, which a
 * chart absorbs by keying points by series and time. Core NATS, no JetStream: a live view that missed
 * a message reloads from the API.
 */
export class LivePublisher {
  private readonly encoder = new TextEncoder()
  /** Messages NATS refused (connection closed); the stored points are unaffected. */
  failures = 0

  constructor(private readonly nc: NatsConnection) {}

  /** `rates` keyed by tenant and host joined with a NUL, as CounterRates.derive returns them. */
  publish(rows: RowBatch, rates: ReadonlyMap<string, RatePoint[]> = new Map()): number {
    const byHost = new Map<string, LiveMessage>()
    const n = rows.values.length
    for (let i = 0; i < n; i++) {
      const s = rows.series[i] as SeriesRef
      const key = `${s.tenant}\u0000${s.host}`
      let m = byHost.get(key)
      if (!m)
        byHost.set(key, (m = { tenant: s.tenant, host: s.host, points: [], rates: rates.get(key) ?? [] }))
      m.points.push([s.metric, s.labels, rows.tsUs[i] ?? 0, rows.values[i] ?? 0])
    }
    let sent = 0
    for (const m of byHost.values()) {
      try {
        this.nc.publish(liveSubject(m.tenant, m.host), this.encoder.encode(JSON.stringify(m)))
        sent++
      } catch {
        // A closed or draining connection: the points are stored, and a live view reloads from the
        // API, so the partition must not stop over it.
        this.failures++
      }
    }
    return sent
  }
}
