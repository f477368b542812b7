import { sampleKey } from '../../platform/kafka.ts'
import { replaceTenant, type EnvelopeCodec } from '../../schemas/src/codec.ts'
import { SchemaError } from '../../schemas/src/errors.ts'
import { IngestError } from './errors.ts'

export interface KafkaMessage {
  key: string
  value: Buffer
}

export interface TenantBatch {
  messages: KafkaMessage[]
  records: number
}

/**
 * Turns an accepted body into Kafka messages of the authenticated tenant. Every record is decoded
 * first, so one bad record refuses the whole body before anything is produced. The tenant written in
 * each envelope is replaced by the key's (in a current-schema record only the tenant's bytes change;
 * an older writer's record is encoded again in the current schema), and records are grouped per host under the `tenant/host` key the processors
 * check envelopes against.
 */
export function tenantBatch(
  codec: EnvelopeCodec,
  payload: Buffer,
  tenant: string,
  maxMessageBytes: number,
): TenantBatch {
  let records
  try {
    records = codec.splitRecords(payload)
  } catch (err) {
    if (err instanceof SchemaError)
      throw new IngestError('BAD_PAYLOAD', `${err.code}: ${err.message}`, { cause: err })
    throw err
  }
  const byHost = new Map<string, Buffer[]>()
  for (const r of records) {
    const host = r.envelope.host_id
    if (host.length === 0 || host.length > 255)
      throw new IngestError(
        'BAD_PAYLOAD',
        `record with seq ${String(r.envelope.seq)}: host_id must be 1–255 characters`,
      )
    const bytes = !r.current
      ? codec.encode({ ...r.envelope, tenant })
      : r.envelope.tenant === tenant
        ? r.bytes
        : replaceTenant(r.bytes, tenant)
    let list = byHost.get(host)
    if (!list) byHost.set(host, (list = []))
    list.push(bytes)
  }
  const messages: KafkaMessage[] = []
  for (const [host, parts] of byHost) {
    const key = sampleKey(tenant, host)
    let group: Buffer[] = []
    let size = 0
    for (const part of parts) {
      if (size > 0 && size + part.length > maxMessageBytes) {
        messages.push({ key, value: Buffer.concat(group, size) })
        group = []
        size = 0
      }
      group.push(part)
      size += part.length
    }
    messages.push({ key, value: group.length === 1 ? (group[0] as Buffer) : Buffer.concat(group, size) })
  }
  return { messages, records: records.length }
}
