import type { KafkaMessage } from 'kafkajs'
import { errorMessage } from '#platform/errors.ts'
import type { EnvelopeCodec } from '#schemas/src/codec.ts'
import { SchemaError } from '#schemas/src/errors.ts'
import type { Envelope } from '#schemas/src/families.ts'
import { parseSampleKey, type Rejection } from './admission.ts'
import type { AdmissionStage, Candidate, ChunkRows, Verdict } from './admission-stages.ts'
import type { DeadLetter } from './dead-letters.ts'
import { newRowBatch, truncateBatch, type RowBatch, type SeriesRegistry } from './rows.ts'

/** What admission counts (ProcessorStats' fields of the same names). */
export interface AdmissionCounts {
  messages: number
  /** Messages that did not decode, dead-lettered whole. */
  decodeErrors: number
  /** Envelopes a stage dropped as a repeat of what is stored. */
  duplicateEnvelopes: number
  /** Envelopes every stage admitted. */
  envelopes: number
}

export interface ChunkAdmissionOptions {
  codec: EnvelopeCodec
  /**
   * Stages that judge a record alone, as it is decoded (the key, the admission rule): one that throws
   * refuses that record (INVALID_RECORD), and the records they admit are the candidates `stages`
   * prepare their lookups for.
   */
  recordChecks: AdmissionStage[]
  /** Stages run after every one of them has prepared, per candidate in chunk order. */
  stages: AdmissionStage[]
  registry: SeriesRegistry
  stats: AdmissionCounts
  /** A record every stage admitted (its rows are in the batch). */
  onAdmitted?: (c: Candidate, nowMs: number) => void
}

export interface AdmittedChunk {
  rows: RowBatch
  /** What cannot be stored: an undecodable message whole, a refused record alone. */
  letters: DeadLetter[]
  /** The chunk failed before its insert: stages forget what admitting its envelopes recorded. */
  forget(): void
}

/**
 * Rows of a chunk, and the dead letters of what cannot be stored: an undecodable message whole, a
 * refused record alone as the raw bytes it arrived in (never re-encoded: a record refused for a
 * value its type cannot hold could not be encoded again), under the tenant of the message key.
 * Repeats of envelopes already stored are dropped. Verdicts depend only on the messages and on what
 * is stored, so a replay yields the same rows for the same deduplication token.
 */
export class ChunkAdmission {
  constructor(private readonly o: ChunkAdmissionOptions) {}

  /** A new group generation: every stage drops what it read from the store. */
  reset(): void {
    for (const s of [...this.o.recordChecks, ...this.o.stages]) s.reset?.()
  }

  async judge(messages: KafkaMessage[], topic: string, partition: number): Promise<AdmittedChunk> {
    const { stats } = this.o
    const letters: DeadLetter[] = []
    const letter = (c: Candidate, r: Rejection): void => {
      letters.push({ value: c.bytes, key: c.message.key, tenant: c.tenant, ...r, source: c.source })
    }
    const candidates: Candidate[] = []
    const batch = newRowBatch(this.o.registry)
    for (const m of messages) {
      stats.messages++
      if (!m.value) continue
      const source = { topic, partition, offset: m.offset }
      const key = parseSampleKey(m.key)
      const tenant = key?.tenant ?? ''
      let records: { envelope: Envelope; bytes: Buffer }[]
      try {
        records = this.o.codec.splitRecords(m.value)
      } catch (err) {
        // Anything the decoder throws is the message's fault as far as this partition is concerned:
        // thrown out of eachBatch it would stop the partition for good on every retry.
        stats.decodeErrors++
        letters.push({
          value: m.value,
          key: m.key,
          tenant,
          ...(err instanceof SchemaError
            ? { reason: err.code, detail: err.message }
            : { reason: 'INVALID_RECORD', detail: `the decoder failed: ${errorMessage(err)}` }),
          source,
        })
        continue
      }
      for (const { envelope, bytes } of records) {
        const c: Candidate = { message: m, envelope, bytes, tenant, key, source }
        const verdict = this.checkRecord(c, { batch, from: { points: 0, log: 0 } })
        if (verdict === 'repeat') stats.duplicateEnvelopes++
        else if (verdict) letter(c, verdict)
        else candidates.push(c)
      }
    }
    for (const s of this.o.stages) await s.prepare?.(candidates)
    const admittedBy = new Map<AdmissionStage, Envelope[]>()
    for (const s of this.o.stages) if (s.forget) admittedBy.set(s, [])
    for (const c of candidates) {
      const rows: ChunkRows = { batch, from: { points: batch.values.length, log: batch.log.length } }
      let verdict: Verdict = undefined
      for (const s of this.o.stages) {
        verdict = s.admit(c, rows)
        if (verdict) break
        admittedBy.get(s)?.push(c.envelope)
      }
      if (verdict === 'repeat') {
        stats.duplicateEnvelopes++
      } else if (verdict) {
        // A refused record leaves no rows, whichever stage refused it.
        truncateBatch(batch, rows.from.points, rows.from.log)
        letter(c, verdict)
      } else {
        stats.envelopes++
        this.o.onAdmitted?.(c, Date.now())
      }
    }
    return {
      rows: batch,
      letters,
      forget: () => {
        for (const [s, envs] of admittedBy) s.forget?.(envs)
      },
    }
  }

  /** The record checks, as a record is decoded: whatever one throws is the record's fault. */
  private checkRecord(c: Candidate, rows: ChunkRows): Verdict {
    try {
      for (const s of this.o.recordChecks) {
        const verdict = s.admit(c, rows)
        if (verdict) return verdict
      }
      return undefined
    } catch (err) {
      return { reason: 'INVALID_RECORD', detail: `the record could not be judged: ${errorMessage(err)}` }
    }
  }
}
