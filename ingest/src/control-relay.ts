import { randomBytes } from 'node:crypto'
import type { Msg, NatsConnection, Subscription } from 'nats'
import { controlSubjects, controlTargetsProblem } from '#schemas/src/control-subjects.ts'
import type { Logger } from '#platform/logger.ts'
import type { ControlLimits } from './config.ts'
import { IngestError } from './errors.ts'

/**
 * Live control for agents that hold nothing but an API key. Such an agent long-polls
 * `GET /v1/control?host=&groups=`; for the length of the poll the gateway, logged in to NATS as the
 * service user, subscribes to exactly the subjects the agent would subscribe to itself (same
 * function, schemas/src/control-subjects.ts) under the tenant of the agent's key, never one named by
 * the request. The first request to arrive answers the poll; the NATS message is held under a
 * random id until the agent posts its reply (`POST /v1/control/reply`), which is sent back to the
 * requester with msg.respond, so the requester cannot tell the agent is not on NATS itself.
 *
 * Between two polls of an agent nothing is subscribed for it: a request sent in that moment gets
 * NATS's "no responders", as for an agent that is offline, and should be sent again.
 */

/** What a poll hands the agent. */
export interface DeliveredRequest {
  id: string
  request: unknown
}

export interface ControlRelayStats {
  polls: number
  held: number
  delivered: number
  answered: number
  expired: number
}

interface Held {
  tenant: string
  host: string
  msg: Msg
  timer: NodeJS.Timeout
}

/** A control request is a few hundred bytes; anything this large is not one and is not passed on. */
export const MAX_CONTROL_REQUEST_BYTES = 64 * 1024
/** Without NATS configured nothing changes until the gateway is reconfigured: agents need not ask often. */
const UNCONFIGURED_RETRY_S = 60
const FULL_RETRY_S = 5

/** The query of `GET /v1/control`: host and groups checked, nothing else accepted. */
export function parseControlQuery(query: unknown): { host: string; groups: string[] } {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>
  const unknown = Object.keys(q).filter((k) => k !== 'host' && k !== 'groups')
  if (unknown.length > 0)
    throw new IngestError(
      'BAD_PARAMETER',
      `unknown parameter(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}: give host and groups only (the tenant comes from the key)`,
    )
  const { host, groups } = q
  if (typeof host !== 'string')
    throw new IngestError(
      'BAD_PARAMETER',
      host === undefined ? 'host is required: the agent’s host id' : 'host must be given once',
    )
  if (groups !== undefined && typeof groups !== 'string')
    throw new IngestError('BAD_PARAMETER', 'groups must be given once, as one comma-separated list')
  const list = groups === undefined || groups === '' ? [] : groups.split(',')
  const problem = controlTargetsProblem(host, list)
  if (problem !== undefined) throw new IngestError('BAD_PARAMETER', problem)
  return { host, groups: [...new Set(list)] }
}

/** The body of `POST /v1/control/reply`. */
export function parseControlReply(body: unknown): { id: string; reply: Record<string, unknown> } {
  const o = body as Record<string, unknown> | null
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new IngestError('BAD_REPLY', 'the body must be a JSON object {"id", "reply"}')
  const extra = Object.keys(o).filter((k) => k !== 'id' && k !== 'reply')
  if (extra.length > 0)
    throw new IngestError('BAD_REPLY', `unknown field(s) ${extra.join(', ')}: give id and reply only`)
  const { id, reply } = o
  if (typeof id !== 'string' || id === '')
    throw new IngestError('BAD_REPLY', 'id must be the id the poll handed out')
  if (typeof reply !== 'object' || reply === null || Array.isArray(reply))
    throw new IngestError('BAD_REPLY', 'reply must be the agent’s reply object {"host_id", "agent_id", …}')
  const r = reply as Record<string, unknown>
  if (typeof r.host_id !== 'string' || typeof r.agent_id !== 'string')
    throw new IngestError('BAD_REPLY', 'reply must carry the agent’s host_id and agent_id')
  return { id, reply: r }
}

export class ControlRelay {
  private nc: NatsConnection | undefined
  private closed = false
  private polls = 0
  private readonly tenantPolls = new Map<string, number>()
  private readonly held = new Map<string, Held>()
  private readonly tenantHeld = new Map<string, number>()
  /** Ends every poll in flight at close: the HTTP server waits for open requests before it stops. */
  private readonly closing = new AbortController()
  private counters = { delivered: 0, answered: 0, expired: 0 }

  constructor(
    private readonly limits: ControlLimits,
    private readonly logger: Logger,
    /** Whether this gateway has NATS at all; false answers 503 with a long Retry-After. */
    private readonly configured: boolean,
  ) {}

  /** The connection, once made (it may be made in the background after the gateway listens). */
  attach(nc: NatsConnection): void {
    this.nc = nc
  }

  get stats(): ControlRelayStats {
    return { polls: this.polls, held: this.held.size, ...this.counters }
  }

  /**
   * Waits up to the configured time for the first request on the agent's subjects; undefined when
   * none came (or the client went away, `signal`). The tenant is the key's, given by the route.
   */
  async poll(
    tenant: string,
    host: string,
    groups: readonly string[],
    signal: AbortSignal,
  ): Promise<DeliveredRequest | undefined> {
    const nc = this.connection()
    this.admit(tenant)
    this.polls++
    bump(this.tenantPolls, tenant, 1)
    try {
      return await this.wait(nc, tenant, host, groups, signal)
    } finally {
      this.polls--
      bump(this.tenantPolls, tenant, -1)
    }
  }

  /**
   * Sends the agent's reply to the requester of request `id`. The id must have been handed to a key
   * of the same tenant; otherwise the answer is word for word that of an id that never existed.
   * Returns whether a requester was waiting (a plain publish has no reply subject).
   */
  answer(tenant: string, id: string, reply: Record<string, unknown>): boolean {
    const h = this.held.get(id)
    if (h?.tenant !== tenant)
      throw new IngestError(
        'UNKNOWN_CONTROL_ID',
        `no control request ${JSON.stringify(id.slice(0, 64))} waits for a reply: unknown, answered already, or older than ${String(this.limits.replyWaitMs / 1000)} s`,
      )
    // Within its tenant an agent could answer for another host; the requester would be misled.
    if (reply.host_id !== h.host)
      throw new IngestError(
        'BAD_REPLY',
        `reply.host_id must be ${JSON.stringify(h.host)}, the host the request was handed to`,
      )
    this.release(id, h)
    this.counters.answered++
    return h.msg.reply ? h.msg.respond(Buffer.from(JSON.stringify(reply))) : false
  }

  /** Ends every poll (503, the agent polls again elsewhere) and forgets every held request. */
  close(): void {
    this.closed = true
    this.closing.abort()
    for (const [id, h] of this.held) this.release(id, h)
  }

  private connection(): NatsConnection {
    if (!this.configured)
      throw new IngestError(
        'CONTROL_UNAVAILABLE',
        'live control is not available through this gateway: it has no NATS connection configured (NATS_URL with the service credential)',
        { retryAfterS: UNCONFIGURED_RETRY_S },
      )
    if (this.closed)
      throw new IngestError('CONTROL_UNAVAILABLE', 'the gateway is stopping; poll again', { retryAfterS: 1 })
    if (this.nc === undefined || this.nc.isClosed())
      throw new IngestError('CONTROL_UNAVAILABLE', 'the gateway is not connected to NATS yet; poll again', {
        retryAfterS: FULL_RETRY_S,
      })
    return this.nc
  }

  /** Polls and held requests are bounded per tenant and in all, so no tenant can take all of either. */
  private admit(tenant: string): void {
    const { maxPolls, tenantMaxPolls } = this.limits
    if (this.polls >= maxPolls || this.held.size >= maxPolls)
      throw new IngestError(
        'CONTROL_BUSY',
        `the gateway holds ${String(maxPolls)} control polls or unanswered requests already; poll again later`,
        { retryAfterS: FULL_RETRY_S },
      )
    if (
      (this.tenantPolls.get(tenant) ?? 0) >= tenantMaxPolls ||
      (this.tenantHeld.get(tenant) ?? 0) >= tenantMaxPolls
    )
      throw new IngestError(
        'TOO_MANY_POLLS',
        `tenant ${tenant} holds ${String(tenantMaxPolls)} control polls or unanswered requests already; poll again later`,
        { retryAfterS: FULL_RETRY_S },
      )
  }

  private wait(
    nc: NatsConnection,
    tenant: string,
    host: string,
    groups: readonly string[],
    signal: AbortSignal,
  ): Promise<DeliveredRequest | undefined> {
    return new Promise((resolve, reject) => {
      const subs: Subscription[] = []
      let settled = false
      const end = (): boolean => {
        if (settled) return false
        settled = true
        clearTimeout(timer)
        signal.removeEventListener('abort', gone)
        this.closing.signal.removeEventListener('abort', stopping)
        for (const s of subs) s.unsubscribe()
        return true
      }
      const gone = (): void => {
        if (end()) resolve(undefined)
      }
      const stopping = (): void => {
        if (end())
          reject(
            new IngestError('CONTROL_UNAVAILABLE', 'the gateway is stopping; poll again', { retryAfterS: 1 }),
          )
      }
      const timer = setTimeout(gone, this.limits.waitMs)
      signal.addEventListener('abort', gone, { once: true })
      this.closing.signal.addEventListener('abort', stopping, { once: true })
      const onMessage = (msg: Msg): void => {
        if (settled) return
        const request = decodeRequest(msg.data)
        if (typeof request === 'string') {
          // The agent would answer nothing but this error, and the poll goes on waiting for a request
          // it can apply. The requester learns which host refused it, as from an agent on NATS.
          if (msg.reply) msg.respond(Buffer.from(JSON.stringify({ host_id: host, error: request })))
          return
        }
        if (!end()) return
        const id = randomBytes(18).toString('base64url')
        this.hold(id, { tenant, host, msg })
        this.counters.delivered++
        resolve({ id, request: request.value })
      }
      try {
        for (const subject of new Set(controlSubjects(tenant, host, groups)))
          subs.push(
            nc.subscribe(subject, {
              callback: (err, msg) => {
                if (err) this.logger.warn({ subject, error: err.message }, 'control subscription error')
                else onMessage(msg)
              },
            }),
          )
      } catch (err) {
        // A connection closed between the check above and here.
        if (end())
          reject(
            new IngestError('CONTROL_UNAVAILABLE', 'the gateway lost its NATS connection; poll again', {
              cause: err,
              retryAfterS: FULL_RETRY_S,
            }),
          )
      }
    })
  }

  private hold(id: string, h: Omit<Held, 'timer'>): void {
    const timer = setTimeout(() => {
      const still = this.held.get(id)
      if (still === undefined) return
      this.release(id, still)
      this.counters.expired++
      this.logger.info(
        { tenant: h.tenant, host: h.host, subject: h.msg.subject },
        'a control request handed to an agent got no reply in time; forgotten',
      )
    }, this.limits.replyWaitMs)
    // A held request must not keep a stopping process alive.
    timer.unref()
    this.held.set(id, { ...h, timer })
    bump(this.tenantHeld, h.tenant, 1)
  }

  private release(id: string, h: Held): void {
    clearTimeout(h.timer)
    this.held.delete(id)
    bump(this.tenantHeld, h.tenant, -1)
  }
}

function bump(counts: Map<string, number>, tenant: string, by: number): void {
  const n = (counts.get(tenant) ?? 0) + by
  if (n <= 0) counts.delete(tenant)
  else counts.set(tenant, n)
}

/** The request as JSON, or why it cannot be passed on (the agent's own words for non-JSON). */
function decodeRequest(data: Uint8Array): { value: unknown } | string {
  if (data.length > MAX_CONTROL_REQUEST_BYTES)
    return `request is larger than ${String(MAX_CONTROL_REQUEST_BYTES)} bytes`
  try {
    return { value: JSON.parse(Buffer.from(data).toString('utf8')) as unknown }
  } catch {
    return 'request is not JSON'
  }
}
