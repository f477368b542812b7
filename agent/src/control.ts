import type { Msg, NatsConnection, Subscription } from 'nats'
import type { Logger } from '#platform/logger.ts'
import { SCHEDULED, type FamilyScheduler, type Schedule } from './schedule.ts'
import { errorMessage } from '#platform/errors.ts'
import { controlSubjects } from '#schemas/src/control-subjects.ts'
import { parseControlRequest, type ControlReply } from '#schemas/src/control.ts'

// The request, its validation and the reply are the contract with the query API and the ingest
// gateway (schemas/src/control.ts); this module applies requests to the running agent.

export function wireSchedule(s: Schedule): NonNullable<ControlReply['applied']> {
  const out: NonNullable<ControlReply['applied']> = {}
  for (const f of SCHEDULED) {
    const entry = s[f]
    if (entry) out[f] = { enabled: entry.enabled, interval_ms: entry.intervalMs }
  }
  return out
}

export interface ControlOptions extends ControlTarget {
  nc: NatsConnection
  tenant: string
  groups: readonly string[]
}

export interface ControlTarget {
  hostId: string
  agentId: string
  scheduler: FamilyScheduler
  logger: Logger
}

/**
 * Validates and applies one request (the raw bytes as the requester sent them) and returns the
 * reply to send back; `via` names where it came from in the log line.
 */
export function answerControlRequest(t: ControlTarget, data: Uint8Array, via: string): ControlReply {
  const reply: ControlReply = { host_id: t.hostId, agent_id: t.agentId }
  try {
    const change = parseControlRequest(data)
    if (Object.keys(change).length === 0) {
      // A read: nothing to regroup, and no log line per dashboard visit.
      reply.applied = wireSchedule(t.scheduler.current())
      t.logger.debug({ via }, 'control schedule read')
    } else {
      reply.applied = wireSchedule(t.scheduler.apply(change))
      t.logger.info({ via, applied: reply.applied }, 'control request applied')
    }
  } catch (err) {
    reply.error = errorMessage(err)
    t.logger.warn({ via, error: reply.error }, 'control request rejected')
  }
  return reply
}

/** Subscribe to this host's control subjects; returns the subscriptions (unsubscribe to stop). */
export function listenForControl(o: ControlOptions): Subscription[] {
  const handle = (msg: Msg): void => {
    const reply = answerControlRequest(o, msg.data, msg.subject)
    if (msg.reply) msg.respond(Buffer.from(JSON.stringify(reply)))
  }
  return controlSubjects(o.tenant, o.hostId, o.groups).map((subject) =>
    o.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) o.logger.warn({ subject, error: err.message }, 'control subscription error')
        else handle(msg)
      },
    }),
  )
}
