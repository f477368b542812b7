import type { NatsConnection } from 'nats'
import { liveSubject, type LiveMessage, type RatePoint } from '#schemas/src/live.ts'
import type { RowBatch, SeriesRef } from './rows.ts'

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
