import type { KafkaMessage } from 'kafkajs'
import type { AdmissionRule } from '#schemas/src/admission.ts'
import type { Envelope } from '#schemas/src/families.ts'
import { checkEnvelope, type Rejection } from './admission.ts'
import { appendEnvelopeRows, type RowBatch } from './rows.ts'
import type { SequenceGuard } from './sequence-guard.ts'
import type { HostSeriesBudget } from './series-budget.ts'
import type { TenantHostLimit } from './tenant-limits.ts'

/** One decoded record of a chunk, on its way to being stored or refused. */
export interface Candidate {
  message: KafkaMessage
  envelope: Envelope
  /** The record's own single-object bytes: what a refusal dead-letters. */
  bytes: Buffer
  /** The tenant of the message key, never the payload's claim (checked equal by the key stage). */
  tenant: string
  key: { tenant: string; host: string } | undefined
  source: { topic: string; partition: number; offset: string }
}

/** The rows of the chunk so far, and where the current envelope's rows begin. */
export interface ChunkRows {
  batch: RowBatch
  from: { points: number; log: number }
}

/** Admitted (undefined), dropped as a resend of what is stored ('repeat'), or refused (a dead letter). */
export type Verdict = undefined | 'repeat' | Rejection

/**
 * One step of what decides whether a record is stored (chunk-admission.ts runs them in order).
 * Verdicts depend only on the messages and on what is stored, so a replayed chunk gets the same.
 */
export interface AdmissionStage {
  /** Reads what the verdicts rest on (what is stored) for a chunk's candidates, before any verdict. */
  prepare?(candidates: readonly Candidate[]): Promise<void>
  /** One record's verdict, in chunk order; admitting records it, so later records of the chunk see it. */
  admit(c: Candidate, rows: ChunkRows): Verdict
  /** A new group generation: what was read from the store may be stale, the partitions another's. */
  reset?(): void
  /** The chunk failed before its insert: forget what admitting these (unstored) envelopes recorded. */
  forget?(admitted: readonly Envelope[]): void
}

/** The tenant and host are the key's, and on a tenant's own topic the key names that tenant. */
export function keyStage(topicTenant: string | undefined): AdmissionStage {
  return { admit: (c) => checkEnvelope(c.envelope, c.key, topicTenant) }
}

/** The shared admission rule (values, times, sizes), judged against the message's own timestamp. */
export function ruleStage(rule: AdmissionRule): AdmissionStage {
  return { admit: (c) => rule.check(c.envelope, c.bytes.length, Number(c.message.timestamp)) }
}

/** Envelopes an agent sent again (seq at or below its highest stored) are dropped, not refused. */
export function sequenceStage(guard: SequenceGuard): AdmissionStage {
  return {
    prepare: (cs) => guard.prepare(cs.map((c) => c.envelope)),
    admit: (c) => (guard.admit(c.envelope) ? undefined : 'repeat'),
    reset: () => {
      guard.reset()
    },
    // Kept, the agents' raised seqs would make the chunk's retry drop its own envelopes as repeats.
    forget: (envs) => {
      guard.forget(envs)
    },
  }
}

/** A new host of a tenant that has its maximum of hosts is refused. */
export function hostLimitStage(limit: TenantHostLimit): AdmissionStage {
  return {
    prepare: (cs) => limit.prepare(cs.map((c) => c.envelope)),
    admit: (c) =>
      limit.admit(c.envelope)
        ? undefined
        : {
            reason: 'TENANT_HOST_LIMIT',
            detail: `tenant ${JSON.stringify(c.tenant)} already has ${String(limit.maxHosts)} hosts; ${JSON.stringify(c.envelope.host_id)} is new`,
          },
    reset: () => {
      limit.reset()
    },
  }
}

/** The envelope's rows, all or nothing: a non-finite value or too many series in one sample refuse it. */
export function rowsStage(maxSeriesPerEnvelope: number): AdmissionStage {
  return {
    admit: (c, rows) =>
      appendEnvelopeRows(
        rows.batch,
        c.envelope,
        c.tenant,
        { partition: c.source.partition, offset: c.source.offset, topic: c.source.topic },
        maxSeriesPerEnvelope,
      ),
  }
}

/** A sample whose new series would take its host past the budget within the window is refused whole. */
export function seriesBudgetStage(budget: HostSeriesBudget): AdmissionStage {
  return {
    prepare: (cs) =>
      budget.prepare(
        cs.map((c) => ({ tenant: c.envelope.tenant, host: c.envelope.host_id })),
        cs.reduce((min, c) => Math.min(min, c.envelope.ts_us), Number.POSITIVE_INFINITY),
      ),
    // The series this envelope's rows just added (the rows stage runs before this one).
    admit: (c, rows) =>
      budget.admit(rows.batch.series.slice(rows.from.points), c.envelope.ts_us)
        ? undefined
        : {
            reason: 'HOST_SERIES_LIMIT',
            detail: `host ${JSON.stringify(c.envelope.host_id)} of tenant ${JSON.stringify(c.tenant)} has ${String(budget.count(c.tenant, c.envelope.host_id))} series in the last ${String(budget.windowS)} s; this sample's new ones would pass ${String(budget.maxSeries)}`,
          },
    reset: () => {
      budget.reset()
    },
  }
}
