import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { createLogger, type Logger } from '#platform/logger.ts'
import { MAX_RECORD_BYTES } from '#schemas/src/admission.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { GatewaySendError } from '../errors.ts'
import { INGEST_CONTENT_TYPE, IngestTransport, parseRetryAfter } from './ingest-transport.ts'
import { Spool } from './spool.ts'
import { SpoolingSink } from './spooling-sink.ts'

const KEY = `psk_${randomBytes(24).toString('hex')}`
const codec = envelopeCodec()
const rec = (seq: number): Buffer => codec.encode(loadEnvelope({ seq }))
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

interface Received {
  at: number
  method: string
  url: string
  headers: IncomingHttpHeaders
  /** The request body, gunzipped. */
  body: Buffer
  seqs: number[]
}

type Answer = 'hang' | { status: number; headers?: Record<string, string>; body?: string }

/**
 * A real HTTP server standing in for the gateway: it records every request and answers as the test
 * says. `down()` closes the port, `up()` opens the same port again.
 */
class Gateway {
  readonly requests: Received[] = []
  /** Seqs of requests answered 202, in the order answered: what the gateway "stored". */
  readonly stored: number[] = []
  answer: (r: Received) => Answer = () => ({ status: 202 })
  private server: Server | undefined
  private port = 0
  private readonly hanging: ServerResponse[] = []

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const raw = Buffer.concat(chunks)
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
        const r: Received = {
          at: Date.now(),
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          seqs: codec.decodeAll(body).map((e) => e.seq),
        }
        this.requests.push(r)
        const a = this.answer(r)
        if (a === 'hang') {
          this.hanging.push(res)
          return
        }
        if (a.status === 202) this.stored.push(...r.seqs)
        res.writeHead(a.status, a.headers).end(a.body ?? '')
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => {
        resolve()
      })
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  async down(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (!server) return
    this.hanging.length = 0
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
}

/** A pino logger writing into `lines`, at debug so that every line the code can emit is seen. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const logger = createLogger('test', {
    level: 'debug',
    destination: {
      write: (s: string) => {
        lines.push(s)
      },
    },
  })
  return { logger, lines }
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function gateway(): Promise<Gateway> {
  const g = new Gateway()
  await g.up()
  cleanups.push(() => g.down())
  return g
}

function tempSpool(): Spool {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-sink-test-'))
  const spool = Spool.open({ dir, maxBytes: 4 << 20, fsync: 'never' })
  cleanups.push(() => {
    spool.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return spool
}

function sinkTo(
  url: string,
  logger: Logger,
  o: { spool?: Spool; timeoutMs?: number } = {},
): { sink: SpoolingSink; transport: IngestTransport } {
  const transport = new IngestTransport({
    url,
    key: KEY,
    logger,
    ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
  })
  const sink = new SpoolingSink({
    transport,
    logger,
    sendAtBytes: 64 * 1024,
    lingerMs: 1,
    maxQueueBytes: 1 << 20,
    spillAfterMs: 50,
    ...(o.spool && { spool: o.spool }),
  })
  cleanups.push(() => sink.stop(0))
  return { sink, transport }
}

function expectNoKey(lines: string[], errors: unknown[] = []): void {
  expect(lines.length).toBeGreaterThan(0)
  for (const l of lines) expect(l).not.toContain(KEY)
  for (const e of errors) {
    expect(String(e)).not.toContain(KEY)
    expect(JSON.stringify(e)).not.toContain(KEY)
  }
}

async function rejection(p: Promise<unknown>): Promise<GatewaySendError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(GatewaySendError)
  return err as GatewaySendError
}

describe('IngestTransport', () => {
  it('POSTs the records back to back, gzip’ed, with the bearer key, and a 202 acknowledges them', async () => {
    const gw = await gateway()
    const { logger } = capturingLogger()
    // A base URL with a path prefix and a trailing slash, as behind a reverse proxy.
    const transport = new IngestTransport({ url: `${gw.url}/gw/`, key: KEY, logger })
    const records = [rec(0), rec(1), rec(2)]
    await expect(transport.send(records)).resolves.toEqual({ messages: 1 })
    expect(gw.requests).toHaveLength(1)
    const r = gw.requests[0] as Received
    expect(r.method).toBe('POST')
    expect(r.url).toBe('/gw/v1/ingest')
    expect(r.headers).toMatchObject({
      authorization: `Bearer ${KEY}`,
      'content-type': INGEST_CONTENT_TYPE,
      'content-encoding': 'gzip',
      'user-agent': 'procstream-agent',
    })
    expect(r.body.equals(Buffer.concat(records))).toBe(true)
    expect(r.seqs).toEqual([0, 1, 2])
  })

  it('rejects anything but 202 naming the status and the gateway’s {error, code}, never the key', async () => {
    const gw = await gateway()
    const { logger } = capturingLogger()
    const transport = new IngestTransport({ url: gw.url, key: KEY, logger })
    gw.answer = () => ({
      status: 400,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        error: `unknown schema fingerprint (sent with Bearer ${KEY})`,
        code: 'BAD_SCHEMA',
      }),
    })
    const bad = await rejection(transport.send([rec(0)]))
    expect(bad.message).toMatch(/answered HTTP 400: unknown schema fingerprint .*\(BAD_SCHEMA\)/)
    expect(bad).toMatchObject({ code: 'INGEST_REFUSED', retryable: false, details: { status: 400 } })
    // 200 is not an acknowledgement: only 202 says the gateway has produced the records.
    gw.answer = () => ({ status: 200, body: 'ok' })
    const ok200 = await rejection(transport.send([rec(1)]))
    expect(ok200.message).toMatch(/answered HTTP 200$/)
    gw.answer = () => ({ status: 308, headers: { location: 'https://elsewhere.example/v1/ingest' } })
    const moved = await rejection(transport.send([rec(2)]))
    expect(moved.message).toMatch(/HTTP 308 \(redirects are not followed/)
    expect(gw.requests).toHaveLength(3)
    await gw.down()
    const down = await rejection(transport.send([rec(3)]))
    expect(down).toMatchObject({ code: 'INGEST_UNREACHABLE', retryable: true })
    expect(down.message).toMatch(/unreachable: .*ECONNREFUSED/)
    for (const e of [bad, ok200, moved, down]) expect(`${e.message} ${JSON.stringify(e)}`).not.toContain(KEY)
  })

  it('logs a refused key at error level once a minute at most, without the key', async () => {
    const gw = await gateway()
    const { logger, lines } = capturingLogger()
    const transport = new IngestTransport({ url: gw.url, key: KEY, logger })
    gw.answer = (r) => ({
      status: r.seqs[0] === 0 ? 401 : 403,
      body: JSON.stringify({ error: 'invalid key', code: 'UNAUTHORIZED' }),
    })
    const errors: GatewaySendError[] = []
    for (let i = 0; i < 3; i++) {
      const err = await rejection(transport.send([rec(i)]))
      errors.push(err)
      expect(transport.afterFailure(err)).toBeUndefined()
    }
    expect(errors.map((e) => e.details.status)).toEqual([401, 403, 403])
    expect(errors[0]?.message).toMatch(/HTTP 401: invalid key \(UNAUTHORIZED\)/)
    const refusals = lines.map((l) => JSON.parse(l) as { level: number; msg: string })
    expect(refusals).toHaveLength(1)
    expect(refusals[0]?.level).toBe(50)
    expect(refusals[0]?.msg).toMatch(/the gateway refused the key/)
    expectNoKey(lines, errors)
  })

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2030-01-01T00:00:00Z')
    expect(parseRetryAfter('7', now)).toBe(7000)
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })

  it('refuses a key that cannot go into a header, without quoting it', () => {
    const bad = `${KEY}\nX-Injected: 1`
    expect(
      () => new IngestTransport({ url: 'http://127.0.0.1:1', key: bad, logger: createLogger('t') }),
    ).toThrow(/printable ASCII/)
    try {
      new IngestTransport({ url: 'http://127.0.0.1:1', key: bad, logger: createLogger('t') })
    } catch (err) {
      expect(String(err)).not.toContain(KEY)
    }
  })
})

describe('SpoolingSink over the ingest gateway', () => {
  it('waits out a 503’s Retry-After, keeps the records and delivers them in order once it gets 202', async () => {
    const gw = await gateway()
    const { logger, lines } = capturingLogger()
    let refusals = 2
    gw.answer = () =>
      refusals-- > 0
        ? {
            status: 503,
            headers: { 'retry-after': '1', 'content-type': 'application/json' },
            body: JSON.stringify({ error: 'Kafka unavailable', code: 'UNAVAILABLE' }),
          }
        : { status: 202 }
    const { sink } = sinkTo(gw.url, logger, { spool: tempSpool() })
    await sink.start()
    for (let i = 0; i < 5; i++) sink.enqueue(rec(i))
    await until('the first refusal', () => gw.requests.length === 1)
    for (let i = 5; i < 20; i++) {
      sink.enqueue(rec(i))
      await sleep(20)
    }
    await until('everything to be delivered', () => sink.stats.queuedRecords === 0)
    const [first, second, third] = gw.requests as [Received, Received, Received]
    // Without Retry-After the backoff would have retried after 500 ms, then 1 s.
    expect(second.at - first.at).toBeGreaterThanOrEqual(1000)
    expect(third.at - second.at).toBeGreaterThanOrEqual(1000)
    // The refused batch is repeated as it was; what arrived meanwhile follows in later requests.
    expect(second.seqs).toEqual(first.seqs)
    expect(third.seqs).toEqual(first.seqs)
    expect(gw.stored).toEqual(range(0, 20))
    expect(sink.stats).toMatchObject({ sentRecords: 20, sendErrors: 2, droppedRecords: 0 })
    const warned = lines.map((l) => JSON.parse(l) as { msg: string; err?: string; retryInMs?: number })
    expect(warned.filter((l) => l.msg === 'ingest gateway send failed; will retry')).toHaveLength(2)
    const firstWarning = warned.find((l) => l.err !== undefined)
    expect(firstWarning?.err).toMatch(/HTTP 503: Kafka unavailable \(UNAVAILABLE\)/)
    expect(firstWarning?.retryInMs).toBe(1000)
    expectNoKey(lines)
  })

  it('drops only the records the gateway refused for what they are (400/413), and never resends them', async () => {
    for (const withSpool of [false, true]) {
      const gw = await gateway()
      const { logger, lines } = capturingLogger()
      // 7 is named by its index (400, as the gateway names a refused record); 13 is not (413).
      gw.answer = (r) => {
        const at7 = r.seqs.indexOf(7)
        if (at7 >= 0)
          return {
            status: 400,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ error: 'ts_us out of bounds', code: 'RECORD_REFUSED', record: at7 }),
          }
        if (r.seqs.includes(13)) return { status: 413, body: JSON.stringify({ code: 'RECORD_TOO_LARGE' }) }
        return { status: 202 }
      }
      const { sink } = sinkTo(gw.url, logger, withSpool ? { spool: tempSpool() } : {})
      for (let i = 0; i < 20; i++) sink.enqueue(rec(i))
      await sink.start()
      await until('everything else to be delivered', () => sink.stats.queuedRecords === 0)
      expect(gw.stored, String(withSpool)).toEqual(range(0, 20).filter((s) => s !== 7 && s !== 13))
      expect(sink.stats).toMatchObject({ refusedRecords: 2, droppedRecords: 2, sendErrors: 0 })
      // Each refused record was sent until it was alone or first, then never again.
      const last7 = gw.requests.findLastIndex((q) => q.seqs.includes(7))
      expect(gw.requests[last7]?.seqs[0]).toBe(7)
      expect(gw.requests.slice(last7 + 1).some((q) => q.seqs.includes(7))).toBe(false)
      const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg)
      expect(msgs).toContain('a record can never be stored by the ingest gateway: dropped, not resent')
      await gw.down()
    }
  })

  it('drops a record over the broker’s message limit when it is enqueued', async () => {
    const gw = await gateway()
    const { logger } = capturingLogger()
    const { sink } = sinkTo(gw.url, logger)
    await sink.start()
    sink.enqueue(rec(0))
    sink.enqueue(Buffer.concat([rec(1), Buffer.alloc(MAX_RECORD_BYTES)]))
    sink.enqueue(rec(2))
    await until('the rest delivered', () => sink.stats.queuedRecords === 0)
    expect(gw.stored).toEqual([0, 2])
    expect(sink.stats.refusedRecords).toBe(1)
  })

  it('loses and repeats nothing while the gateway is down for a while, spooling meanwhile', async () => {
    const gw = await gateway()
    const { logger, lines } = capturingLogger()
    const spool = tempSpool()
    const { sink } = sinkTo(gw.url, logger, { spool })
    await sink.start()
    let seq = 0
    const produce = async (ms: number): Promise<void> => {
      for (const end = Date.now() + ms; Date.now() < end;) {
        sink.enqueue(rec(seq++))
        await sleep(5)
      }
    }
    await produce(300)
    await until('the first records to be delivered', () => gw.stored.length > 0)
    await gw.down()
    const downFrom = seq
    await produce(1500)
    expect(sink.stats.spooledRecords).toBeGreaterThan(0)
    expect(gw.stored.length).toBeLessThanOrEqual(downFrom)
    await gw.up()
    await produce(300)
    await until('everything to be delivered', () => sink.stats.queuedRecords === 0)
    expect(gw.stored).toEqual(range(0, seq))
    expect(sink.stats).toMatchObject({ sentRecords: seq, droppedRecords: 0, spooledRecords: 0 })
    expect(sink.stats.sendErrors).toBeGreaterThan(0)
    expect(lines.some((l) => l.includes('ECONNREFUSED'))).toBe(true)
    expectNoKey(lines)
  })

  it('abandons a request left unanswered past the timeout and sends the same records again', async () => {
    const gw = await gateway()
    const { logger, lines } = capturingLogger()
    let hangs = 1
    gw.answer = () => (hangs-- > 0 ? 'hang' : { status: 202 })
    const { sink } = sinkTo(gw.url, logger, { spool: tempSpool(), timeoutMs: 300 })
    await sink.start()
    for (let i = 0; i < 4; i++) sink.enqueue(rec(i))
    await until('a request to hang', () => gw.requests.length === 1)
    // Arrives while the request hangs: it moves to the spool behind the in-flight records.
    sink.enqueue(rec(4))
    await until('everything to be delivered', () => sink.stats.queuedRecords === 0)
    expect(gw.requests[1]?.seqs).toEqual(gw.requests[0]?.seqs)
    expect(gw.stored).toEqual(range(0, 5))
    expect(lines.some((l) => l.includes('no answer within 0.3 s'))).toBe(true)
    expectNoKey(lines)
  })
})
