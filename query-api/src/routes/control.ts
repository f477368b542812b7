import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ErrorCode, NatsError, RequestStrategy, type NatsConnection } from 'nats'
import { parseControlBody, type ControlReply } from '#schemas/src/control.ts'
import { keyReach, tenantNameProblem, type Scope } from '#platform/auth/api-key.ts'
import type { Authenticator, Principal } from '#platform/auth/authenticator.ts'
import { AuthError } from '#platform/auth/errors.ts'
import {
  controlTargetProblem,
  controlTargetSubject,
  type ControlTarget,
} from '#schemas/src/control-subjects.ts'
import { errorMessage } from '#platform/errors.ts'
import { principalOf } from '../auth.ts'
import { QueryApiError } from '../errors.ts'
import { sleep } from '#platform/time.ts'

export interface ControlRouteOptions {
  /** The service connection; without it both routes answer 503. */
  nats: NatsConnection | undefined
  keys: Authenticator
}

/** Seeing the schedule is reading the tenant; an admin or operator may see what it may change. */
export const CONTROL_READ_SCOPES: readonly Scope[] = ['read', 'admin', 'operator']
/** Changing it is the tenant admin's (its own tenant) or the operator's (a tenant it names). */
export const CONTROL_WRITE_SCOPES: readonly Scope[] = ['admin', 'operator']

export const DEFAULT_CONTROL_WAIT_MS = 2000
/** How soon a request nobody listened for is sent again, within the wait. */
const NO_RESPONDERS_RETRY_MS = 100
export const MIN_CONTROL_WAIT_MS = 100
/** A request holds one HTTP request and one NATS inbox this long at most. */
export const MAX_CONTROL_WAIT_MS = 10_000

/**
 * Said whenever a tenant key names a tenant other than its own, whether that tenant exists or not: the
 * answer must not tell a tenant which other tenants there are.
 */
const OWN_TENANT_ONLY = "a tenant key controls its own tenant's agents only"

export interface AgentAnswer {
  host_id: string
  /** Null when the ingest gateway answered for the agent (a request the gateway could not pass on). */
  agent_id: string | null
  applied?: NonNullable<ControlReply['applied']>
  error?: string
}

export interface ControlAnswer {
  tenant: string
  target: ControlTarget
  replies: AgentAnswer[]
  waited_ms: number
}

interface ControlCall {
  tenant: string
  target: ControlTarget
  waitMs: number
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function bad(message: string): QueryApiError {
  return new QueryApiError('BAD_REQUEST', message)
}

/** `{host}`, `{group}` or `{all: true}`, the names held to the rules the gateway applies to agents. */
export function parseControlTarget(raw: Record<string, unknown>): ControlTarget {
  const given = (['host', 'group', 'all'] as const).filter((k) => raw[k] !== undefined)
  if (given.length !== 1) throw bad('target must name exactly one of host, group or all')
  const extra = Object.keys(raw).filter((k) => k !== 'host' && k !== 'group' && k !== 'all')
  if (extra.length > 0) throw bad(`target: unknown field(s): ${extra.join(', ')}`)
  if (raw.all !== undefined) {
    if (raw.all !== true && raw.all !== 'true') throw bad('target all must be true')
    return { all: true }
  }
  const kind = given[0] as 'host' | 'group'
  const value = raw[kind]
  if (typeof value !== 'string') throw bad(`${kind} must be given once, as a string`)
  const problem = controlTargetProblem(kind, value)
  if (problem !== undefined) throw bad(problem)
  return kind === 'host' ? { host: value } : { group: value }
}

export function parseWaitMs(raw: unknown): number {
  if (raw === undefined) return DEFAULT_CONTROL_WAIT_MS
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw
  if (typeof n !== 'number' || !Number.isInteger(n) || n < MIN_CONTROL_WAIT_MS || n > MAX_CONTROL_WAIT_MS)
    throw bad(
      `wait_ms must be a whole number of milliseconds from ${MIN_CONTROL_WAIT_MS} to ${MAX_CONTROL_WAIT_MS}`,
    )
  return n
}

/**
 * The change of a `POST /api/v1/control` body, checked by the agent's own rules (parseControlBody)
 * so nothing is sent that every agent would refuse; what is sent is exactly these two fields.
 */
export function parseControlChange(body: Record<string, unknown>): Record<string, unknown> {
  const change: Record<string, unknown> = {}
  if (body.interval_ms !== undefined) change.interval_ms = body.interval_ms
  if (body.families !== undefined) change.families = body.families
  if (Object.keys(change).length === 0)
    throw bad(
      'give interval_ms or families: a request that changes nothing is a read (GET /api/v1/control/schedule)',
    )
  try {
    parseControlBody(change)
  } catch (err) {
    throw bad(errorMessage(err))
  }
  return change
}

function describeTarget(t: ControlTarget): string {
  if ('host' in t) return `host ${JSON.stringify(t.host)}`
  if ('group' in t) return `group ${JSON.stringify(t.group)}`
  return 'this tenant'
}

/** One agent's reply as it reaches the API; undefined for anything that is not one. */
function agentAnswer(data: Uint8Array): AgentAnswer | undefined {
  let r: unknown
  try {
    r = JSON.parse(Buffer.from(data).toString('utf8'))
  } catch {
    return undefined
  }
  if (!isObject(r) || typeof r.host_id !== 'string') return undefined
  const out: AgentAnswer = {
    host_id: r.host_id,
    agent_id: typeof r.agent_id === 'string' ? r.agent_id : null,
  }
  if (typeof r.error === 'string') out.error = r.error
  else if (isObject(r.applied)) out.applied = r.applied as NonNullable<ControlReply['applied']>
  else return undefined
  return out
}

/**
 * Live agent control for people and scripts: `GET /api/v1/control/schedule` reads the schedule in
 * force on a host's, a group's or the whole tenant's agents, `POST /api/v1/control` changes it. The
 * request goes over NATS, as the service user, to the subject controlSubjects gives the agents, under
 * the tenant of the key (an operator key names one), escaped: nothing in a request can reach another
 * tenant's agents. Agents on NATS and agents polling the ingest gateway answer alike.
 *
 * Every agent that answers within wait_ms is reported; a host request ends 300 ms after the last
 * reply, since one host id is normally one agent. A request no one listens for ("no responders") is
 * sent again until someone does or the wait is over. No answer at all is 504 NO_AGENT.
 */
export function controlRoutes(app: FastifyInstance, o: ControlRouteOptions): void {
  // Authenticated before the body is parsed, as the admin API does.
  const principals = new WeakMap<FastifyRequest, Principal>()
  const authorize =
    (scopes: readonly Scope[]) =>
    async (req: FastifyRequest): Promise<void> => {
      principals.set(req, await principalOf(req, o.keys, scopes))
    }
  /** The tenant acted on: a tenant key's own, whatever it names; an operator's, as it names it. */
  const tenantFor = (req: FastifyRequest, named: unknown): string => {
    const principal = principals.get(req)
    // Fails closed should a route ever be added without its onRequest check.
    if (!principal) throw new AuthError('FORBIDDEN', 'this API key may not control agents')
    if (named !== undefined && typeof named !== 'string') throw bad('tenant must be a string')
    if (keyReach(principal.scopes) === 'any') {
      if (named === undefined || named === '')
        throw bad('an operator key acts on the tenant it names: give tenant')
      const problem = tenantNameProblem(named)
      if (problem !== undefined) throw bad(problem)
      return named
    }
    if (named !== undefined && named !== '' && named !== principal.tenant) {
      req.log.warn(
        { keyId: principal.keyId, tenant: principal.tenant },
        'a tenant key named another tenant for agent control; refused',
      )
      throw new AuthError('FORBIDDEN', OWN_TENANT_ONLY)
    }
    return principal.tenant
  }

  const send = async (
    req: FastifyRequest,
    call: ControlCall,
    request: Record<string, unknown>,
  ): Promise<ControlAnswer> => {
    const nats = o.nats
    if (!nats)
      throw new QueryApiError('BACKEND', 'agent control needs NATS, which this installation does not run')
    const subject = controlTargetSubject(call.tenant, call.target)
    const started = performance.now()
    const deadline = started + call.waitMs
    const replies: AgentAnswer[] = []
    const data = Buffer.from(JSON.stringify(request))
    for (;;) {
      let noResponders = false
      try {
        const answers = await nats.requestMany(subject, data, {
          strategy: 'host' in call.target ? RequestStrategy.JitterTimer : RequestStrategy.Timer,
          maxWait: Math.max(1, Math.round(deadline - performance.now())),
          noMux: true,
        })
        for await (const msg of answers) {
          const answer = agentAnswer(msg.data)
          if (answer) replies.push(answer)
          else req.log.warn({ subject }, 'a control reply that is not an agent reply; ignored')
        }
      } catch (err) {
        if (!(err instanceof NatsError && err.code === (ErrorCode.NoResponders as string))) {
          req.log.error({ err, subject }, 'control request failed')
          throw new QueryApiError('BACKEND', 'the control request could not be sent through NATS', {
            cause: err,
          })
        }
        noResponders = true
      }
      // Nobody listened, so nobody applied it and sending again is safe: an agent that polls through
      // the ingest gateway has no subscription between two polls, and is back within a round trip.
      if (!noResponders || deadline - performance.now() < NO_RESPONDERS_RETRY_MS) break
      await sleep(NO_RESPONDERS_RETRY_MS)
    }
    if (replies.length === 0)
      throw new QueryApiError(
        'NO_AGENT',
        `no agent of ${describeTarget(call.target)} answered within ${String(call.waitMs / 1000)} s`,
      )
    replies.sort((a, b) =>
      a.host_id === b.host_id
        ? (a.agent_id ?? '').localeCompare(b.agent_id ?? '')
        : a.host_id.localeCompare(b.host_id),
    )
    return {
      tenant: call.tenant,
      target: call.target,
      replies,
      waited_ms: Math.round(performance.now() - started),
    }
  }

  app.get(
    '/api/v1/control/schedule',
    { onRequest: authorize(CONTROL_READ_SCOPES) },
    async (req): Promise<ControlAnswer> => {
      const q = req.query as Record<string, unknown>
      const extra = Object.keys(q).filter((k) => !['host', 'group', 'all', 'tenant', 'wait_ms'].includes(k))
      if (extra.length > 0) throw bad(`unknown parameter(s): ${extra.join(', ')}`)
      const { tenant: named, wait_ms: wait, ...target } = q
      const call = {
        tenant: tenantFor(req, named),
        target: parseControlTarget(target),
        waitMs: parseWaitMs(wait),
      }
      return send(req, call, {})
    },
  )

  app.post(
    '/api/v1/control',
    { onRequest: authorize(CONTROL_WRITE_SCOPES) },
    async (req): Promise<ControlAnswer> => {
      const body = req.body
      if (!isObject(body)) throw bad('send a JSON object body')
      const extra = Object.keys(body).filter(
        (k) => !['target', 'tenant', 'wait_ms', 'interval_ms', 'families'].includes(k),
      )
      if (extra.length > 0) throw bad(`unknown field(s): ${extra.join(', ')}`)
      const tenant = tenantFor(req, body.tenant)
      if (!isObject(body.target)) throw bad('target must be {"host": H}, {"group": G} or {"all": true}')
      const call = { tenant, target: parseControlTarget(body.target), waitMs: parseWaitMs(body.wait_ms) }
      const change = parseControlChange(body)
      const answer = await send(req, call, change)
      const principal = principals.get(req)
      req.log.info(
        { keyId: principal?.keyId, tenant, target: call.target, change, replies: answer.replies.length },
        'agent schedule change sent',
      )
      return answer
    },
  )
}
