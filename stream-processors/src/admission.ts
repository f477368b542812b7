import type { Envelope } from '../../schemas/src/families.ts'
import type { SchemaErrorCode } from '../../schemas/src/errors.ts'

/**
 * Why a payload or an envelope is not stored but dead-lettered. The codes are the `procstream-reason`
 * header of the dead-letter topic and the `reason` label of the rejection counter.
 *
 * | reason                  | what was wrong                                                          |
 * | ----------------------- | ----------------------------------------------------------------------- |
 * | NOT_SINGLE_OBJECT, …    | the message did not decode (a SchemaError code: garbage, an unknown     |
 * |                         | schema fingerprint, truncated): the whole message is dead-lettered      |
 * | KEY_MISMATCH            | the envelope's tenant or host is not the one its Kafka key names        |
 * | TOPIC_TENANT_MISMATCH   | on a tenant's own topic (PROCESSOR_TOPIC_TENANT), a key naming another  |
 * |                         | tenant: credentials of one tenant trying to write as another            |
 * | TIMESTAMP_OUT_OF_BOUNDS | the sample time is too far before or after the message's own timestamp  |
 * | NON_FINITE_VALUE        | a value is NaN or ±Inf                                                  |
 * | TOO_MANY_SERIES         | one sample holds more series than PROCESSOR_MAX_SERIES_PER_ENVELOPE     |
 * | TENANT_HOST_LIMIT       | a new host for a tenant that already has TENANT_MAX_HOSTS hosts         |
 * | HOST_SERIES_LIMIT       | new series past TENANT_MAX_SERIES_PER_HOST within PROCESSOR_SERIES_WINDOW_S |
 */
export type RejectReason =
  | SchemaErrorCode
  | 'KEY_MISMATCH'
  | 'TOPIC_TENANT_MISMATCH'
  | 'TIMESTAMP_OUT_OF_BOUNDS'
  | 'NON_FINITE_VALUE'
  | 'TOO_MANY_SERIES'
  | 'TENANT_HOST_LIMIT'
  | 'HOST_SERIES_LIMIT'

export interface Rejection {
  reason: RejectReason
  detail: string
}

export interface TimeBounds {
  /** How far a sample may lie before its message's timestamp (a spool replaying an outage). */
  maxPastMs: number
  /** How far after it (clock skew between a host and the broker). */
  maxFutureMs: number
}

/** The `tenant/host_id` Kafka key every producer writes (platform/kafka.ts sampleKey). */
export function parseSampleKey(key: Buffer | null | undefined): { tenant: string; host: string } | undefined {
  if (!key) return undefined
  const text = key.toString('utf8')
  const slash = text.indexOf('/')
  if (slash <= 0 || slash === text.length - 1) return undefined
  return { tenant: text.slice(0, slash), host: text.slice(slash + 1) }
}

/**
 * The tenant a processor stores an envelope under is the one of the message key, which the ingest
 * gateway sets from the API key; an envelope that claims another tenant or host than its key is
 * refused, never stored under either. A direct producer chooses its own key, so on a tenant's own
 * topic (writable only with that tenant's Kafka credentials) the key must also name that tenant.
 *
 * Time is judged against the message's timestamp, not the processor's clock, so replaying a range
 * later gives the same verdicts and so the same rows for the same deduplication token.
 */
export function checkEnvelope(
  env: Envelope,
  key: { tenant: string; host: string } | undefined,
  messageTimestampMs: number,
  bounds: TimeBounds,
  topicTenant?: string,
): Rejection | undefined {
  if (!key) return { reason: 'KEY_MISMATCH', detail: 'the message has no tenant/host key' }
  if (topicTenant !== undefined && key.tenant !== topicTenant) {
    return {
      reason: 'TOPIC_TENANT_MISMATCH',
      detail: `key names tenant ${JSON.stringify(key.tenant)} on the topic of tenant ${JSON.stringify(topicTenant)}`,
    }
  }
  if (env.tenant !== key.tenant || env.host_id !== key.host) {
    return {
      reason: 'KEY_MISMATCH',
      detail: `envelope ${JSON.stringify(`${env.tenant}/${env.host_id}`)} under key ${JSON.stringify(`${key.tenant}/${key.host}`)}`,
    }
  }
  const tsMs = env.ts_us / 1000
  if (!(tsMs >= messageTimestampMs - bounds.maxPastMs && tsMs <= messageTimestampMs + bounds.maxFutureMs)) {
    return {
      reason: 'TIMESTAMP_OUT_OF_BOUNDS',
      detail: `sample time ${iso(tsMs)} is outside [-${String(bounds.maxPastMs)} ms, +${String(bounds.maxFutureMs)} ms] of its message's ${iso(messageTimestampMs)}`,
    }
  }
  return undefined
}

/** Date's range is ±8.64e15 ms; an absurd sender timestamp must still make a readable message. */
function iso(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${String(ms)} ms since the epoch`
}
