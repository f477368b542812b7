import type { KafkaMessage } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Envelope } from '#schemas/src/families.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { keyStage, rowsStage, type AdmissionStage, type Candidate } from './admission-stages.ts'
import { ChunkAdmission, type AdmissionCounts } from './chunk-admission.ts'
import { SeriesRegistry } from './rows.ts'

const codec = envelopeCodec()

function message(offset: number, value: Buffer | null, key = 'acme/web-1'): KafkaMessage {
  return { offset: String(offset), key: Buffer.from(key), value, timestamp: '0', attributes: 0, headers: {} }
}

const envelope = (seq: number, over: Partial<Envelope> = {}): Envelope => loadEnvelope({ seq, ...over })

/** A stage that logs its calls and refuses (or drops) the seqs it is told to. */
function probe(
  name: string,
  log: string[],
  verdicts: Record<number, 'repeat' | 'refuse'> = {},
): AdmissionStage & { forgotten: number[] } {
  const stage = {
    forgotten: [] as number[],
    prepare: (cs: readonly Candidate[]) => {
      log.push(`${name}.prepare ${cs.map((c) => c.envelope.seq).join(',')}`)
      return Promise.resolve()
    },
    admit: (c: Candidate) => {
      log.push(`${name}.admit ${String(c.envelope.seq)}`)
      const v = verdicts[c.envelope.seq]
      if (v === 'repeat') return 'repeat' as const
      if (v === 'refuse') return { reason: 'TENANT_HOST_LIMIT' as const, detail: `${name} refused` }
      return undefined
    },
    forget: (envs: readonly Envelope[]) => {
      stage.forgotten.push(...envs.map((e) => e.seq))
    },
  }
  return stage
}

function admission(recordChecks: AdmissionStage[], stages: AdmissionStage[]) {
  const stats: AdmissionCounts = { messages: 0, decodeErrors: 0, duplicateEnvelopes: 0, envelopes: 0 }
  const observed: number[] = []
  const a = new ChunkAdmission({
    codec,
    recordChecks,
    stages,
    registry: new SeriesRegistry(),
    stats,
    onAdmitted: (c) => observed.push(c.envelope.seq),
  })
  return { a, stats, observed }
}

describe('chunk admission', () => {
  it('prepares every stage before any verdict, then runs the stages per record in chunk order', async () => {
    const log: string[] = []
    const { a, stats, observed } = admission(
      [keyStage(undefined)],
      [probe('first', log, { 2: 'repeat' }), probe('second', log, { 3: 'refuse' })],
    )
    const messages = [
      message(0, codec.encode(envelope(1))),
      // Refused by the key stage as it is decoded: no stage prepares for it.
      message(1, codec.encode(envelope(9, { tenant: 'globex' }))),
      message(2, Buffer.concat([codec.encode(envelope(2)), codec.encode(envelope(3))])),
      message(3, null),
      message(4, codec.encode(envelope(4))),
    ]
    const chunk = await a.judge(messages, 't', 0)
    expect(log).toEqual([
      'first.prepare 1,2,3,4',
      'second.prepare 1,2,3,4',
      'first.admit 1',
      'second.admit 1',
      'first.admit 2',
      'first.admit 3',
      'second.admit 3',
      'first.admit 4',
      'second.admit 4',
    ])
    expect(chunk.letters.map((l) => [l.reason, l.source.offset])).toEqual([
      ['KEY_MISMATCH', '1'],
      ['TENANT_HOST_LIMIT', '2'],
    ])
    expect(stats).toEqual({ messages: 5, decodeErrors: 0, duplicateEnvelopes: 1, envelopes: 2 })
    expect(observed).toEqual([1, 4])
  })

  it('a record refused after its rows were appended leaves none; forget reaches what each stage admitted', async () => {
    const log: string[] = []
    const first = probe('first', log, { 2: 'repeat' })
    const last = probe('last', log, { 3: 'refuse' })
    const { a } = admission([], [first, rowsStage(1_000), last])
    const chunk = await a.judge(
      [1, 2, 3, 4].map((seq) => message(seq, codec.encode(envelope(seq)))),
      't',
      0,
    )
    expect(chunk.rows.log.map((row) => row[4])).toEqual([1, 4])
    expect(chunk.rows.values).toHaveLength(2 * 3) // three load values each
    expect(chunk.rows.series).toHaveLength(chunk.rows.values.length)
    expect(chunk.letters.map((l) => l.detail)).toEqual(['last refused'])
    chunk.forget()
    expect(first.forgotten).toEqual([1, 3, 4])
    expect(last.forgotten).toEqual([1, 4])
  })

  it('dead-letters an undecodable message whole, and a record a check cannot judge alone', async () => {
    const throwing: AdmissionStage = {
      admit: (c) => {
        if (c.envelope.seq === 2) throw new Error('boom')
        return undefined
      },
    }
    const { a, stats } = admission([throwing], [])
    const chunk = await a.judge(
      [message(0, Buffer.from('not avro')), message(1, codec.encode(envelope(2)))],
      't',
      0,
    )
    expect(chunk.letters.map((l) => [l.reason, l.detail, l.value.length > 0])).toEqual([
      ['TRUNCATED', expect.stringContaining('too short'), true],
      ['INVALID_RECORD', 'the record could not be judged: boom', true],
    ])
    expect(stats.decodeErrors).toBe(1)
    expect(chunk.rows.values).toHaveLength(0)
  })
})
