/**
 * The ingest gateway against the real broker and the real key table: what it produces is exactly the
 * accepted records under the key's tenant, and every refused request produces nothing at all.
 */
import { execFileSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { envelopeCodec } from '../../../schemas/src/codec.ts'
import type { Envelope } from '../../../schemas/src/families.ts'
import { loadEnvelope } from '../../../test/support/envelopes.ts'
import { openGatewayTestbed, type GatewayTestbed } from '../../../test/support/gateway-testbed.ts'
import { readTopic, topicEnd } from '../../../test/support/topic.ts'
import { waitFor } from '../../../test/support/wait-for.ts'

const codec = envelopeCodec()
const AVRO = 'application/vnd.procstream.avro'
let bed: GatewayTestbed
let acmeIngest = ''
let acmeRead = ''
let globexIngest = ''

beforeAll(async () => {
  bed = await openGatewayTestbed('gateway', {
    partitions: 3,
    env: { INGEST_MAX_BODY_BYTES: String(256 * 1024), INGEST_MAX_DECODED_BYTES: String(1024 * 1024) },
  })
  acmeIngest = await bed.key('acme', ['ingest'])
  acmeRead = await bed.key('acme', ['read'])
  globexIngest = await bed.key('globex', ['ingest'])
})

afterAll(async () => {
  await bed.close()
})

function post(
  body: Buffer | string,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  return fetch(`${bed.gateway.url}/v1/ingest`, { method: 'POST', headers, body }).then(async (res) => ({
    status: res.status,
    json: (await res.json()) as Record<string, unknown>,
    headers: res.headers,
  }))
}

function records(envs: Partial<Envelope>[]): Buffer {
  return Buffer.concat(envs.map((e) => codec.encode(loadEnvelope(e))))
}

const auth = (key: string): Record<string, string> => ({
  authorization: `Bearer ${key}`,
  'content-type': AVRO,
})

describe('POST /v1/ingest', () => {
  it('produces the records under the key’s tenant, whatever tenant the payload claims', async () => {
    const before = await readTopic(bed.brokers, bed.config.topic)
    const claimed = records([
      { tenant: 'globex', host_id: 'web-1', seq: 1 },
      { tenant: 'globex', host_id: 'web-1', seq: 2 },
      { tenant: 'acme', host_id: 'db-1', seq: 1 },
    ])
    const res = await post(claimed, auth(acmeIngest))
    expect(res.status).toBe(202)
    expect(res.json).toEqual({ accepted: 3, tenant: 'acme' })
    const fromGlobex = await post(records([{ tenant: 'acme', host_id: 'web-1', seq: 7 }]), auth(globexIngest))
    expect(fromGlobex.json).toEqual({ accepted: 1, tenant: 'globex' })

    const produced = (await readTopic(bed.brokers, bed.config.topic)).slice(before.length)
    const seen = produced
      .flatMap((m) =>
        codec.decodeAll(m.value).map((e) => ({ key: m.key, tenant: e.tenant, host: e.host_id, seq: e.seq })),
      )
      .sort((a, b) => `${a.key}${String(a.seq)}`.localeCompare(`${b.key}${String(b.seq)}`))
    expect(seen).toEqual([
      { key: 'acme/db-1', tenant: 'acme', host: 'db-1', seq: 1 },
      { key: 'acme/web-1', tenant: 'acme', host: 'web-1', seq: 1 },
      { key: 'acme/web-1', tenant: 'acme', host: 'web-1', seq: 2 },
      { key: 'globex/web-1', tenant: 'globex', host: 'web-1', seq: 7 },
    ])
  })

  it('accepts gzip and zstd bodies', async () => {
    const body = records([
      { host_id: 'zip-1', seq: 1 },
      { host_id: 'zip-1', seq: 2 },
    ])
    const gz = await post(gzipSync(body), { ...auth(acmeIngest), 'content-encoding': 'gzip' })
    expect(gz).toMatchObject({ status: 202, json: { accepted: 2 } })
    const zst = execFileSync('zstd', ['-c', '-q'], { input: body })
    const z = await post(zst, { ...auth(acmeIngest), 'content-encoding': 'zstd' })
    expect(z).toMatchObject({ status: 202, json: { accepted: 2 } })
  })

  it('refuses bad keys and bad bodies with a message naming the problem, producing nothing', async () => {
    const endBefore = await topicEnd(bed.brokers, bed.config.topic)
    const good = records([{ host_id: 'bad-1', seq: 1 }])
    const unknownFingerprint = Buffer.from(good)
    unknownFingerprint.writeUInt32LE(0xdeadbeef, 2)
    const cases: [
      string,
      Promise<{ status: number; json: Record<string, unknown> }>,
      number,
      string,
      RegExp,
    ][] = [
      ['no key', post(good, { 'content-type': AVRO }), 401, 'UNAUTHENTICATED', /missing API key/],
      ['garbage key', post(good, auth('nonsense')), 401, 'UNAUTHENTICATED', /^invalid API key$/],
      [
        'wrong secret',
        post(good, auth(`${acmeIngest.slice(0, -3)}xyz`)),
        401,
        'UNAUTHENTICATED',
        /^invalid API key$/,
      ],
      ['read-only key', post(good, auth(acmeRead)), 403, 'FORBIDDEN', /lacks the ingest scope/],
      [
        'JSON',
        post('{"tenant":"acme"}', { ...auth(acmeIngest), 'content-type': 'application/json' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        /application\/json.*not accepted: send application\/vnd\.procstream\.avro/,
      ],
      [
        'brotli',
        post(good, { ...auth(acmeIngest), 'content-encoding': 'br' }),
        415,
        'UNSUPPORTED_ENCODING',
        /"br" is not supported/,
      ],
      ['empty', post(Buffer.alloc(0), auth(acmeIngest)), 400, 'BAD_PAYLOAD', /empty/],
      [
        'garbage',
        post(Buffer.from('hello world, not avro'), auth(acmeIngest)),
        400,
        'BAD_PAYLOAD',
        /^NOT_SINGLE_OBJECT: record at byte 0/,
      ],
      [
        'unknown schema',
        post(unknownFingerprint, auth(acmeIngest)),
        400,
        'BAD_PAYLOAD',
        /^UNKNOWN_FINGERPRINT: .*unknown schema fingerprint/,
      ],
      // Good records first, then a truncated one: none of the batch is produced.
      [
        'truncated tail',
        post(Buffer.concat([good, good, good.subarray(0, 15)]), auth(acmeIngest)),
        400,
        'BAD_PAYLOAD',
        new RegExp(`^TRUNCATED: record at byte ${String(2 * good.length)}`),
      ],
      [
        'too large',
        post(Buffer.alloc(300 * 1024), auth(acmeIngest)),
        413,
        'PAYLOAD_TOO_LARGE',
        /larger than 262144 bytes/,
      ],
      [
        'zip bomb',
        post(gzipSync(Buffer.alloc(20 * 1024 * 1024)), { ...auth(acmeIngest), 'content-encoding': 'gzip' }),
        413,
        'PAYLOAD_TOO_LARGE',
        /decompresses to more than 1048576 bytes/,
      ],
    ]
    for (const [what, response, status, code, message] of cases) {
      const res = await response
      expect({ what, status: res.status, code: res.json.code }).toEqual({ what, status, code })
      expect(String(res.json.error), what).toMatch(message)
    }
    expect(await topicEnd(bed.brokers, bed.config.topic)).toBe(endBefore)
  })

  it('stops accepting a revoked key within seconds, in this process and in any other reading the table', async () => {
    const key = await bed.key('acme', ['ingest'])
    const keyId = key.split('_')[1] as string
    expect((await post(records([{ host_id: 'rev-1', seq: 1 }]), auth(key))).status).toBe(202)
    // The revocation goes through the store, as another process's admin API would write it.
    await bed.store.revokeKey(keyId)
    const revokedAt = Date.now()
    const res = await waitFor(
      'the gateway to refuse the revoked key',
      async () => {
        const r = await post(records([{ host_id: 'rev-1', seq: 2 }]), auth(key))
        return r.status === 401 ? r : undefined
      },
      10_000,
    )
    expect(res.json).toEqual({ error: 'API key revoked', code: 'UNAUTHENTICATED' })
    // The table is re-read every 250 ms here (AUTH_KEYS_REFRESH_MS, 2 s by default).
    expect(Date.now() - revokedAt).toBeLessThan(5_000)
  })
})

describe('per-tenant rate limits', () => {
  it('answers 429 with Retry-After once a tenant’s burst is used, and other tenants go on', async () => {
    const limited = await bed.startGateway({ INGEST_TENANT_REQUESTS_PER_S: '2', INGEST_TENANT_BURST_S: '1' })
    {
      const a = await bed.key('acme', ['ingest'])
      const g = await bed.key('globex', ['ingest'])
      const one = records([{ host_id: 'r-1', seq: 1 }])
      const statuses: number[] = []
      let refused: { json: Record<string, unknown>; headers: Headers } | undefined
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${limited.url}/v1/ingest`, {
          method: 'POST',
          headers: auth(a),
          body: one,
        })
        statuses.push(res.status)
        if (res.status === 429)
          refused = { json: (await res.json()) as Record<string, unknown>, headers: res.headers }
      }
      expect(statuses.slice(0, 2)).toEqual([202, 202])
      expect(statuses).toContain(429)
      expect(refused?.headers.get('retry-after')).toBe('1')
      expect(refused?.json.code).toBe('RATE_LIMITED')
      expect(String(refused?.json.error)).toMatch(/tenant acme is over its ingest rate/)
      const other = await fetch(`${limited.url}/v1/ingest`, {
        method: 'POST',
        headers: auth(g),
        body: one,
      })
      expect(other.status).toBe(202)
    }
  })
})
