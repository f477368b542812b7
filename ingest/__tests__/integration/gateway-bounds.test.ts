/**
 * The gateway reads and decodes at most INGEST_MAX_CONCURRENT_REQUESTS bodies at once: one more is
 * refused before its body is read, with a retryable 503 and Retry-After, and the slot comes back when
 * a request ends, answered or abandoned.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { openGatewayTestbed, type GatewayTestbed } from '#test/support/gateway-testbed.ts'

const AVRO = 'application/vnd.procstream.avro'
const codec = envelopeCodec()
let bed: GatewayTestbed
let key = ''

beforeAll(async () => {
  bed = await openGatewayTestbed('gateway_bounds', {
    partitions: 1,
    env: { INGEST_MAX_CONCURRENT_REQUESTS: '1' },
  })
  key = await bed.key('acme', ['ingest'])
})

afterAll(async () => {
  await bed.close()
})

const body = (seq: number): Buffer =>
  codec.encode(loadEnvelope({ host_id: 'web-1', seq, ts_us: Date.now() * 1000 }))

async function post(seq: number): Promise<Response> {
  return fetch(`${bed.gateway.url}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': AVRO },
    body: body(seq),
  })
}

/** A request whose body arrives in two parts: it holds its slot until `finish` sends the rest. */
function slowPost(seq: number): { finish(): void; abort(): void; answer: Promise<number> } {
  const bytes = body(seq)
  const url = new URL(`${bed.gateway.url}/v1/ingest`)
  let status: (n: number) => void = () => undefined
  const answer = new Promise<number>((resolve) => {
    status = resolve
  })
  const req = request(
    {
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': AVRO, 'content-length': bytes.length },
    },
    (res) => {
      res.resume()
      status(res.statusCode ?? 0)
    },
  )
  req.on('error', () => {
    status(-1)
  })
  req.write(bytes.subarray(0, 10))
  return {
    finish: () => req.end(bytes.subarray(10)),
    abort: () => req.destroy(),
    answer,
  }
}

describe('bounded concurrency', () => {
  it('refuses one request more than it reads at once, before its body, and frees the slot after', async () => {
    const slow = slowPost(1)
    await new Promise((r) => setTimeout(r, 300))
    const busy = await post(2)
    expect(busy.status).toBe(503)
    expect(busy.headers.get('retry-after')).toBe('1')
    expect(((await busy.json()) as { code: string }).code).toBe('GATEWAY_BUSY')
    slow.finish()
    expect(await slow.answer).toBe(202)
    expect((await post(3)).status).toBe(202)

    // A sender that hangs up mid-body gives its slot back too.
    const dropped = slowPost(4)
    await new Promise((r) => setTimeout(r, 300))
    expect((await post(5)).status).toBe(503)
    dropped.abort()
    await new Promise((r) => setTimeout(r, 300))
    expect((await post(6)).status).toBe(202)
  })
})
