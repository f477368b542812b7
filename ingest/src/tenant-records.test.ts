import { describe, expect, it } from 'vitest'
import { AdmissionRule, MAX_RECORD_BYTES } from '#schemas/src/admission.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { caught } from '#test/support/caught.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { tenantBatch } from './tenant-records.ts'

const codec = envelopeCodec()
/** What a refusal carries for the answer (an IngestError). */
interface Refused {
  code: string
  statusCode: number
  message: string
  record: { index: number; field: string } | undefined
}
const rule = new AdmissionRule(codec.readerType, { maxAgeMs: 7 * 86_400_000, maxLeadMs: 300_000 })
/** loadEnvelope's sample time. */
const NOW = 1_795_000_000_000

describe('tenantBatch', () => {
  it('rewrites every envelope to the key’s tenant and keys messages by tenant/host', () => {
    const payload = Buffer.concat([
      codec.encode(loadEnvelope({ tenant: 'globex', host_id: 'web-1', seq: 1 })),
      codec.encode(loadEnvelope({ tenant: 'acme', host_id: 'web-2', seq: 1 })),
      codec.encode(loadEnvelope({ tenant: 'globex', host_id: 'web-1', seq: 2 })),
    ])
    const batch = tenantBatch(codec, rule, payload, 'acme', 900 * 1024, NOW)
    expect(batch.records).toBe(3)
    // The time they were judged at, for the processor to judge them against the same.
    expect(new Set(batch.messages.map((m) => m.timestamp))).toEqual(new Set([String(NOW)]))
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
    const batch = tenantBatch(codec, rule, Buffer.concat(records), 'acme', size * 3, NOW)
    expect(batch.messages.length).toBe(4)
    expect(batch.messages.flatMap((m) => codec.decodeAll(m.value).map((e) => e.seq))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ])
  })

  it('refuses the whole body when one record is bad, naming it', () => {
    const good = codec.encode(loadEnvelope())
    const truncated = Buffer.concat([good, good.subarray(0, good.length - 3)])
    const t = caught(() => tenantBatch(codec, rule, truncated, 'acme', 1 << 20, NOW))
    expect(t.code).toBe('BAD_PAYLOAD')
    expect(t.message).toMatch(new RegExp(`^TRUNCATED: record\\b.*\\bbyte ${String(good.length)}\\b`))
    const unknown = Buffer.from(good)
    unknown.writeUInt32LE(0xdeadbeef, 2)
    expect(
      caught(() => tenantBatch(codec, rule, Buffer.concat([good, unknown]), 'acme', 1 << 20, NOW)).message,
    ).toMatch(/^UNKNOWN_FINGERPRINT: record\b.*\bbyte \d+\b.*unknown schema fingerprint/)
  })

  it('refuses the whole body for a record the processor would refuse, naming the record and field', () => {
    const good = codec.encode(loadEnvelope({ seq: 1 }))
    const old = codec.encode(loadEnvelope({ seq: 2, ts_us: (NOW - 8 * 86_400_000) * 1000 }))
    const t = caught(() =>
      tenantBatch(codec, rule, Buffer.concat([good, old]), 'acme', 1 << 20, NOW),
    ) as unknown as Refused
    expect(t.code).toBe('RECORD_REFUSED')
    expect(t.statusCode).toBe(400)
    expect(t.record).toEqual({ index: 1, field: 'ts_us' })
    expect(t.message).toMatch(/^record 1 \(seq 2\): TIMESTAMP_OUT_OF_BOUNDS: sample time/)
    const nan = codec.encode(loadEnvelope({ seq: 3 }, Number.NaN))
    expect(
      (caught(() => tenantBatch(codec, rule, nan, 'acme', 1 << 20, NOW)) as unknown as Refused).record,
    ).toEqual({
      index: 0,
      field: 'sample.load1',
    })
  })

  it('refuses a record over the broker’s message limit with 413, naming it', () => {
    const small = codec.encode(loadEnvelope({ seq: 2 }))
    // Just over the limit, and far over it (2.5 MiB, as in issue 22).
    for (const size of [MAX_RECORD_BYTES, 2.5 * 1024 * 1024]) {
      const big = codec.encode(loadEnvelope({ seq: 1, hostname: 'x'.repeat(size) }))
      const t = caught(() =>
        tenantBatch(codec, rule, Buffer.concat([small, big]), 'acme', MAX_RECORD_BYTES, NOW),
      ) as unknown as Refused
      expect(t.code, String(size)).toBe('RECORD_TOO_LARGE')
      expect(t.statusCode).toBe(413)
      expect(t.record).toEqual({ index: 1, field: 'record' })
    }
  })
})
