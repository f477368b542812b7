import { redactUrl } from '#platform/config.ts'
import { controlTargetsProblem } from '#schemas/src/control-subjects.ts'
import { errorMessage } from '#platform/errors.ts'
import { answerControlRequest, type ControlTarget } from './control.ts'
import { parseRetryAfter } from './sink/ingest-transport.ts'
import { LogEvery } from '#platform/log-every.ts'
import { backoffMs } from '#platform/backoff.ts'
import { sleep } from '#platform/time.ts'

/**
 * Live control for an agent that sends through the ingest gateway and holds no NATS credential: it
 * long-polls `GET URL/v1/control?host=&groups=` with its ingest key; the gateway subscribes to this
 * host's control subjects under the key's tenant for the length of the poll and hands over the
 * first request. It is applied by answerControlRequest, exactly as one from NATS, and the reply goes
 * back with `POST URL/v1/control/reply`. All of it runs beside sampling on the event loop and never
 * waits for anything sampling needs; failures back off and are logged at most once a minute.
 */

export const CONTROL_PATH = '/v1/control'
export const CONTROL_REPLY_PATH = '/v1/control/reply'

export interface GatewayControlOptions extends ControlTarget {
  /** The gateway's base URL, as for sending (a path prefix is kept). */
  url: string
  key: string
  groups: readonly string[]
  /** A poll without an answer after this long is abandoned; longer than the gateway's longest wait (55 s). */
  pollTimeoutMs?: number
  /** First wait after a failure; doubles up to maxBackoffMs. */
  minBackoffMs?: number
  maxBackoffMs?: number
}

const REPLY_TIMEOUT_MS = 10_000
const LOG_EVERY_MS = 60_000

/** A failed poll or reply, with how long to wait before the next poll. */
class PollFailure extends Error {
  constructor(
    message: string,
    readonly waitMs: number | undefined,
    readonly level: 'warn' | 'error' = 'warn',
  ) {
    super(message)
  }
}

export class GatewayControl {
  private readonly base: string
  private readonly shown: string
  private readonly query: string
  private readonly closing = new AbortController()
  private running: Promise<void> | undefined
  private readonly logEvery = new LogEvery(LOG_EVERY_MS)
  /** Polls made, requests handled (applied or refused by validation), failed polls or replies. */
  readonly stats = { polls: 0, handled: 0, failures: 0 }

  constructor(private readonly o: GatewayControlOptions) {
    this.base = o.url.replace(/\/+$/, '')
    this.shown = redactUrl(`${this.base}${CONTROL_PATH}`)
    const params = new URLSearchParams({ host: o.hostId })
    if (o.groups.length > 0) params.set('groups', o.groups.join(','))
    this.query = params.toString()
  }

  /** Starts polling in the background; false (and logged) when the gateway would refuse the names. */
  start(): boolean {
    const problem = controlTargetsProblem(this.o.hostId, this.o.groups)
    if (problem !== undefined) {
      this.o.logger.error({ problem }, 'live control through the gateway is off: the gateway would refuse')
      return false
    }
    this.running = this.loop()
    this.o.logger.info({ url: this.shown, groups: this.o.groups }, 'polling the gateway for control requests')
    return true
  }

  /** Abandons the poll in flight and waits for the loop to end. */
  async stop(): Promise<void> {
    this.closing.abort()
    await this.running
  }

  private async loop(): Promise<void> {
    const min = this.o.minBackoffMs ?? 1000
    const max = this.o.maxBackoffMs ?? 60_000
    let failures = 0
    while (!this.stopping()) {
      let waitMs = 0
      try {
        await this.pollOnce()
        failures = 0
      } catch (err) {
        if (this.stopping()) break
        failures++
        this.stats.failures++
        const backoff = backoffMs(failures, min, max)
        const f = err instanceof PollFailure ? err : undefined
        waitMs = Math.min(max, Math.max(backoff, f?.waitMs ?? 0))
        this.log(f?.level ?? 'warn', errorMessage(err), waitMs)
      }
      if (waitMs > 0) await sleep(waitMs, this.closing.signal)
    }
  }

  /** A method, not the property itself: it changes while the loop awaits. */
  private stopping(): boolean {
    return this.closing.signal.aborted
  }

  private async pollOnce(): Promise<void> {
    this.stats.polls++
    const res = await this.fetch(
      `${this.base}${CONTROL_PATH}?${this.query}`,
      { method: 'GET' },
      this.o.pollTimeoutMs ?? 65_000,
    )
    if (res.status === 204) return
    const text = await res.text()
    if (res.status !== 200) throw this.refused('GET', res, text)
    let body: { id?: unknown; request?: unknown }
    try {
      body = JSON.parse(text) as { id?: unknown; request?: unknown }
    } catch {
      throw new PollFailure(`GET ${this.shown} answered 200 without JSON`, undefined)
    }
    if (typeof body.id !== 'string')
      throw new PollFailure(`GET ${this.shown} answered 200 without a request id`, undefined)
    // The same validation and the same apply as a request from NATS, fed the request's JSON.
    const reply = answerControlRequest(this.o, Buffer.from(JSON.stringify(body.request ?? null)), 'gateway')
    this.stats.handled++
    const posted = await this.fetch(
      `${this.base}${CONTROL_REPLY_PATH}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: body.id, reply }),
      },
      REPLY_TIMEOUT_MS,
    )
    const said = await posted.text()
    // A 404 means the gateway forgot the request (its reply wait passed): the change is in force
    // anyway, only the requester heard nothing. Logged, and polling goes on at once.
    if (posted.status === 404)
      this.log('warn', `POST ${CONTROL_REPLY_PATH} answered 404${gatewaySaid(said)}`, 0)
    else if (posted.status !== 200) throw this.refused('POST', posted, said)
  }

  private async fetch(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        headers: {
          ...(init.headers as Record<string, string> | undefined),
          authorization: `Bearer ${this.o.key}`,
          'user-agent': 'procstream-agent',
        },
        // A redirect could carry the key to another host.
        redirect: 'manual',
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(timeoutMs)]),
      })
    } catch (err) {
      const e = err as { name?: unknown; cause?: { message?: unknown }; message?: unknown }
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${String(timeoutMs / 1000)} s`
          : `unreachable: ${String(e.cause?.message ?? e.message)}`
      throw new PollFailure(
        `${init.method ?? 'GET'} ${redactUrl(url.split('?')[0] ?? url)} ${why}`,
        undefined,
      )
    }
  }

  private refused(method: string, res: Response, text: string): PollFailure {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now())
    const message = `${method} ${this.shown} answered HTTP ${String(res.status)}${gatewaySaid(text)}`
    // Only an operator can fix a refused key, a gateway without the route or names it refuses: wait long.
    if (res.status === 401 || res.status === 403) return new PollFailure(message, 60_000, 'error')
    if (res.status === 400 || res.status === 404) return new PollFailure(message, 60_000, 'error')
    return new PollFailure(message, retryAfterMs)
  }

  private log(level: 'warn' | 'error', problem: string, retryInMs: number): void {
    if (!this.logEvery.due()) return
    // The key never appears here: it is sent in a header and nowhere else.
    this.o.logger[level](
      { problem: problem.split(this.o.key).join('[redacted]'), retryInMs },
      'gateway control',
    )
  }
}

function gatewaySaid(text: string): string {
  try {
    const { error, code } = JSON.parse(text) as { error?: unknown; code?: unknown }
    if (typeof error === 'string' && typeof code === 'string')
      return `: ${error.slice(0, 300)} (${code.slice(0, 60)})`
  } catch {
    // Not the gateway's JSON: nothing worth quoting.
  }
  return ''
}
