import { sampleKey } from '#schemas/src/kafka-topic.ts'
import { errorMessage } from '#platform/errors.ts'
import type { AdmissionRule } from '#schemas/src/admission.ts'
import { replaceTenant, type EnvelopeCodec } from '#schemas/src/codec.ts'
import { SchemaError } from '#schemas/src/errors.ts'
import type { Envelope } from '#schemas/src/families.ts'
import { IngestError } from './errors.ts'

export interface KafkaMessage {
  key: string
  value: Buffer
  /**
   * The time the records were judged at, in ms, as the message's timestamp: the processor judges
   * sample times against the message timestamp, so it reaches the same verdict the gateway did.
   */
  timestamp: string
}

export interface TenantBatch {
  messages: KafkaMessage[]
  records: number
}

/**
 * Turns an accepted body into Kafka messages of the authenticated tenant. Every record is decoded and
 * judged by the admission rule first (schemas/src/admission.ts, the one the processor applies), so
 * one record the processor would refuse refuses the whole body, naming the record and the field,
 * before anything is produced. The tenant written in each envelope is replaced by the key's (in a
 * current-schema record only the tenant's bytes change; an older writer's record is encoded again in
 * the current schema), and records are grouped per host under the `tenant/host` key the processors
 * check envelopes against.
 */
export function tenantBatch(
  codec: EnvelopeCodec,
  rule: AdmissionRule,
  payload: Buffer,
  tenant: string,
  maxMessageBytes: number,
  nowMs: number = Date.now(),
): TenantBatch {
  let records: { envelope: Envelope; bytes: Buffer; current: boolean }[]
  try {
    records = codec.splitRecords(payload)
  } catch (err) {
    if (err instanceof SchemaError) {
      // The decoder's messages start with `record N`: passed on, an agent can drop just that record.
      const index = /^record (\d+)\b/.exec(err.message)?.[1]
      const record = index === undefined ? undefined : { index: Number(index), field: 'record' }
      // Over the decoder's per-record cap is over the broker's message limit too: 413, as below.
      if (err.code === 'RECORD_LIMIT')
        throw new IngestError('RECORD_TOO_LARGE', `${err.code}: ${err.message}; do not resend it`, {
          cause: err,
          ...(record && { record }),
        })
      throw new IngestError('BAD_PAYLOAD', `${err.code}: ${err.message}`, {
        cause: err,
        ...(record && { record }),
      })
    }
    // Whatever else a decoder throws on hostile bytes, it is the body's fault, never a 500.
    throw new IngestError('BAD_PAYLOAD', `the body does not decode: ${errorMessage(err)}`, { cause: err })
  }
  const byHost = new Map<string, Buffer[]>()
  records.forEach((r, index) => {
    const refused = rule.check(r.envelope, r.bytes.length, nowMs)
    if (refused) {
      const what = `record ${String(index)} (seq ${String(r.envelope.seq)})`
      throw refused.reason === 'RECORD_TOO_LARGE'
        ? new IngestError(
            'RECORD_TOO_LARGE',
            `${what}: ${refused.detail}; it cannot be stored, do not resend it`,
            {
              record: { index, field: refused.field },
            },
          )
        : new IngestError('RECORD_REFUSED', `${what}: ${refused.reason}: ${refused.detail}`, {
            record: { index, field: refused.field },
          })
    }
    const host = r.envelope.host_id
    let bytes: Buffer
    try {
      bytes = !r.current
        ? codec.encode({ ...r.envelope, tenant })
        : r.envelope.tenant === tenant
          ? r.bytes
          : replaceTenant(r.bytes, tenant)
    } catch (err) {
      // Values within the rule always encode; a record that still does not is refused, not a 500.
      throw new IngestError(
        'RECORD_REFUSED',
        `record ${String(index)}: cannot be written in the current schema: ${errorMessage(err)}`,
        { cause: err, record: { index, field: 'record' } },
      )
    }
    // The rule judged the record as sent; the tenant swapped in may make it longer.
    if (bytes.length > maxMessageBytes)
      throw new IngestError(
        'RECORD_TOO_LARGE',
        `record ${String(index)}: ${String(bytes.length)} bytes under tenant ${tenant}, over the ${String(maxMessageBytes)} a Kafka message can carry; do not resend it`,
        { record: { index, field: 'record' } },
      )
    let list = byHost.get(host)
    if (!list) byHost.set(host, (list = []))
    list.push(bytes)
  })
  const timestamp = String(nowMs)
  const messages: KafkaMessage[] = []
  for (const [host, parts] of byHost) {
    const key = sampleKey(tenant, host)
    let group: Buffer[] = []
    let size = 0
    for (const part of parts) {
      if (size > 0 && size + part.length > maxMessageBytes) {
        messages.push({ key, value: Buffer.concat(group, size), timestamp })
        group = []
        size = 0
      }
      group.push(part)
      size += part.length
    }
    messages.push({
      key,
      value: group.length === 1 ? (group[0] as Buffer) : Buffer.concat(group, size),
      timestamp,
    })
  }
  return { messages, records: records.length }
}
