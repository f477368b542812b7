import { describe, expect, it } from 'vitest'
import { envelopeCodec } from '../../schemas/src/codec.ts'
import { caught } from '../../test/support/caught.ts'
import { loadEnvelope } from '../../test/support/envelopes.ts'
import { tenantBatch } from './tenant-records.ts'

const codec = envelopeCodec()

describe('tenantBatch', () => {
  it('rewrites every envelope to the key’s tenant and keys messages by tenant/host', () => {
    const payload = Buffer.concat([
      codec.encode(loadEnvelope({ tenant: 'globex', host_id: 'web-1', seq: 1 })),
      codec.encode(loadEnvelope({ tenant: 'acme', host_id: 'web-2', seq: 1 })),
      codec.encode(loadEnvelope({ tenant: 'globex', host_id: 'web-1', seq: 2 })),
    ])
    const batch = tenantBatch(codec, payload, 'acme', 900 * 1024)
    expect(batch.records).toBe(3)
    expect(batch.messages.map((m) => m.key)).toEqual(['acme/web-1', 'acme/web-2'])
    const decoded = batch.messages.map((m) => codec.decodeAll(m.value))
    expect(decoded.map((envs) => envs.map((e) => [e.tenant, e.host_id, e.seq]))).toEqual([
      [
        ['acme', 'web-1', 1],
        ['acme', 'web-1', 2],
      ],
      [['acme', 'web-2', 1]],
    ])
  })

  it('splits one host’s records into messages under the size limit, in order', () => {
    const records = Array.from({ length: 10 }, (_, seq) => codec.encode(loadEnvelope({ seq })))
    const size = records[0]?.length ?? 0
    const batch = tenantBatch(codec, Buffer.concat(records), 'acme', size * 3)
    expect(batch.messages.length).toBe(4)
    expect(batch.messages.flatMap((m) => codec.decodeAll(m.value).map((e) => e.seq))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ])
  })

  it('refuses the whole body when one record is bad, naming it', () => {
    const good = codec.encode(loadEnvelope())
    const truncated = Buffer.concat([good, good.subarray(0, good.length - 3)])
    const t = caught(() => tenantBatch(codec, truncated, 'acme', 1 << 20))
    expect(t.code).toBe('BAD_PAYLOAD')
    expect(t.message).toMatch(new RegExp(`^TRUNCATED: record at byte ${String(good.length)}`))
    const unknown = Buffer.from(good)
    unknown.writeUInt32LE(0xdeadbeef, 2)
    expect(caught(() => tenantBatch(codec, Buffer.concat([good, unknown]), 'acme', 1 << 20)).message).toMatch(
      /^UNKNOWN_FINGERPRINT: record at byte \d+: unknown schema fingerprint/,
    )
  })
})
