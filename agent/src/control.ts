import type { Msg, NatsConnection, Subscription } from 'nats'
import type { Logger } from '../../platform/logger.ts'
import {
  isScheduled,
  MAX_INTERVAL_MS,
  MIN_INTERVAL_MS,
  SCHEDULED,
  collectorFloorMs,
  type FamilyScheduler,
  type Schedule,
  type ScheduleChange,
} from './schedule.ts'
import { errorMessage } from '../../platform/errors.ts'
import { controlSubjects } from '../../platform/control-subjects.ts'

/**
 * Live control over NATS. An operator (or the query API) sends a JSON request to one host, a group of
 * hosts, or every host of a tenant:
 *
 *   procstream.control.<tenant>.host.<host_id>
 *   procstream.control.<tenant>.group.<group>
 *   procstream.control.<tenant>.all
 *
 *   { "interval_ms": 100 }                                    every family at 100 ms
 *   { "families": { "cpu": { "interval_ms": 100 }, "filesystem": { "enabled": false } } }
 *
 * `families` takes the typed families, `agent` and every collector (netstat, hwmon, …). A bare
 * interval_ms leaves collectors of slow-changing inputs (dmi, hwmon) at their floor when it is
 * longer; naming one in `families` sets it exactly.
 *
 * The agent applies it and replies with the schedule now in force, or with `{ "error": … }` naming what
 * was wrong (and applies nothing of a request with any error). An empty request `{}` changes nothing
 * and is answered with the schedule in force: it is how the query API reads it. The same requests reach an agent that
 * sends through the ingest gateway by a long poll (gateway-control.ts); both paths go through
 * answerControlRequest, so an agent answers alike whichever way a request came.
 */
export interface ControlReply {
  host_id: string
  agent_id: string
  applied?: Record<string, { enabled: boolean; interval_ms: number }>
  error?: string
}

function interval(value: unknown, where: string): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_INTERVAL_MS ||
    value > MAX_INTERVAL_MS
  ) {
    throw new Error(
      `${where} must be a whole number of milliseconds from ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}`,
    )
  }
  return value
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Validate a control request completely before anything is applied. */
export function parseControlRequest(data: Uint8Array): ScheduleChange {
  let body: unknown
  try {
    body = JSON.parse(Buffer.from(data).toString('utf8'))
  } catch {
    throw new Error('request is not JSON')
  }
  return parseControlBody(body)
}

/**
 * The rules of parseControlRequest for a request already decoded: the query API checks a request with
 * it before sending, so a caller learns what is wrong from the API, in the agent's own words. `{}` is
 * the empty change, a read of the schedule.
 */
export function parseControlBody(body: unknown): ScheduleChange {
  if (!isObject(body)) throw new Error('request must be a JSON object')
  if (Object.keys(body).length === 0) return {}
  const unknownKeys = Object.keys(body).filter((k) => k !== 'interval_ms' && k !== 'families')
  if (unknownKeys.length > 0) throw new Error(`unknown field(s): ${unknownKeys.join(', ')}`)
  const change: ScheduleChange = {}
  if (body.interval_ms !== undefined) {
    const ms = interval(body.interval_ms, 'interval_ms')
    for (const f of SCHEDULED) change[f] = { intervalMs: Math.max(ms, collectorFloorMs(f)) }
  }
  if (body.families !== undefined) {
    if (!isObject(body.families)) throw new Error('families must be an object keyed by family')
    for (const [name, spec] of Object.entries(body.families)) {
      if (!isScheduled(name))
        throw new Error(`unknown family ${JSON.stringify(name)}; known: ${SCHEDULED.join(', ')}`)
      if (!isObject(spec)) throw new Error(`families.${name} must be an object`)
      const bad = Object.keys(spec).filter((k) => k !== 'enabled' && k !== 'interval_ms')
      if (bad.length > 0) throw new Error(`families.${name}: unknown field(s): ${bad.join(', ')}`)
      const c: { enabled?: boolean; intervalMs?: number } = { ...change[name] }
      if (spec.enabled !== undefined) {
        if (typeof spec.enabled !== 'boolean')
          throw new Error(`families.${name}.enabled must be true or false`)
        c.enabled = spec.enabled
      }
      if (spec.interval_ms !== undefined)
        c.intervalMs = interval(spec.interval_ms, `families.${name}.interval_ms`)
      change[name] = c
    }
  }
  if (Object.keys(change).length === 0)
    throw new Error('request changes nothing: give interval_ms or families')
  return change
}

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
