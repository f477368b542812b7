/**
 * The live stream's contract: the NATS subject a processor publishes a host's stored points to and the
 * message it sends, read by the query API (and through it the dashboard). Here, not in either
 * component, so writer and reader cannot drift apart.
 */

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

/** A counter's per-second rate at one instant: `[metric, labels (canonical JSON), ts (µs), rate]`. */
export type RatePoint = [metric: string, labels: string, tsUs: number, perSecond: number]

/**
 * One message: a host's points of one chunk, `[metric, labels (canonical JSON), ts (µs), value]`, and
 * the per-second rates of its counters at the same instants, so a live chart of a counter needs no
 * previous value of its own.
 */
export interface LiveMessage {
  tenant: string
  host: string
  points: [metric: string, labels: string, tsUs: number, value: number][]
  /** Absent from processors older than this field. */
  rates?: RatePoint[]
}
