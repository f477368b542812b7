import type { AdmissionReason } from '#schemas/src/admission.ts'
import type { Envelope } from '#schemas/src/families.ts'
import type { SchemaErrorCode } from '#schemas/src/errors.ts'

/**
 * Why a payload or an envelope is not stored but dead-lettered. The codes are the `procstream-reason`
 * header of the dead-letter topic and the `reason` label of the rejection counter.
 *
 * | reason                  | what was wrong                                                          |
 * | ----------------------- | ----------------------------------------------------------------------- |
 * | NOT_SINGLE_OBJECT, …    | the message did not decode (a SchemaError code: garbage, an unknown     |
 * |                         | schema fingerprint, truncated; INVALID_RECORD also when the decoder    |
 * |                         | threw anything else): the whole message is dead-lettered               |
 * | KEY_MISMATCH            | the envelope's tenant or host is not the one its Kafka key names        |
 * | TOPIC_TENANT_MISMATCH   | on a tenant's own topic (PROCESSOR_TOPIC_TENANT), a key naming another  |
 * |                         | tenant: credentials of one tenant trying to write as another            |
 * | TIMESTAMP_OUT_OF_BOUNDS | the sample time is too far before or after the message's own timestamp  |
 * | NON_FINITE_VALUE        | a value is NaN or ±Inf                                                  |
 * | VALUE_OUT_OF_RANGE      | a value does not fit its reader type exactly, interval_ms or host_id    |
 * |                         | out of range (the admission rule, schemas/src/admission.ts)             |
 * | RECORD_TOO_LARGE        | the record is over MAX_RECORD_BYTES (schemas/src/admission.ts)          |
 * | INVALID_NAME            | a `metrics` record names a collector, metric or label Prometheus would  |
 * |                         | not accept (the admission rule, schemas/src/admission.ts)               |
 * | TOO_MANY_SERIES         | one sample holds more series than PROCESSOR_MAX_SERIES_PER_ENVELOPE     |
 * | TENANT_HOST_LIMIT       | a new host for a tenant that already has TENANT_MAX_HOSTS hosts         |
 * | HOST_SERIES_LIMIT       | new series past TENANT_MAX_SERIES_PER_HOST within PROCESSOR_SERIES_WINDOW_S |
 */
export type RejectReason =
  | SchemaErrorCode
  | AdmissionReason
  | 'KEY_MISMATCH'
  | 'TOPIC_TENANT_MISMATCH'
  | 'TOO_MANY_SERIES'
  | 'TENANT_HOST_LIMIT'
  | 'HOST_SERIES_LIMIT'

export interface Rejection {
  reason: RejectReason
  detail: string
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
 * What a record itself must satisfy (values, times, sizes) is the shared admission rule
 * (schemas/src/admission.ts), which the processor applies after this check.
 */
export function checkEnvelope(
  env: Envelope,
  key: { tenant: string; host: string } | undefined,
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
  return undefined
}
