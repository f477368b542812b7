import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from './admission.ts'
import { collectorFloorMs, isScheduled, SCHEDULED } from './schedulable.ts'

/** One schedule entry as the agent runs it. */
export interface FamilySchedule {
  enabled: boolean
  intervalMs: number
}

/** A change to some entries' schedules, as a control message asks for it (already validated). */
export type ScheduleChange = Record<string, Partial<FamilySchedule>>

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
 * sends through the ingest gateway by a long poll (agent/src/gateway-control.ts); both paths go through
 * answerControlRequest (agent/src/control.ts), so an agent answers alike whichever way a request came.
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
