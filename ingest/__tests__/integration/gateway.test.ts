/**
 * The ingest gateway against the real broker and the real key table: what it produces is exactly the
 * accepted records under the key's tenant, and every refused request produces nothing at all.
 */
import { execFileSync } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EnvelopeCodec, envelopeCodec } from '#schemas/src/codec.ts'
import type { Envelope } from '#schemas/src/families.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { openGatewayTestbed, type GatewayTestbed } from '#test/support/gateway-testbed.ts'
import { readTopic, topicEnd } from '#test/support/topic.ts'
import { waitFor } from '#test/support/wait-for.ts'

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

/** Zigzag varint of any 64-bit value, to write what the gateway must refuse. */
function varint(v: bigint): Buffer {
  let z = v >= 0n ? v << 1n : (-v << 1n) - 1n
  const out: number[] = []
  do {
    let b = Number(z & 0x7fn)
    z >>= 7n
    if (z !== 0n) b |= 0x80
    out.push(b)
  } while (z !== 0n)
  return Buffer.from(out)
}
const str = (s: string): Buffer => Buffer.concat([varint(BigInt(s.length)), Buffer.from(s)])
/** An envelope up to its sample union, by hand (fingerprint, tenant length and seq as given). */
function head(fingerprint: Buffer, tenantLength = varint(4n), seq = 1n): Buffer {
  return Buffer.concat([
    Buffer.from([0xc3, 0x01]),
    fingerprint,
    tenantLength,
    Buffer.from('acme'),
    str('hostile-1'),
    str('hostile-1'),
    str('agent-a'),
    varint(seq),
    varint(BigInt(Date.now()) * 1000n),
    varint(1000n),
  ])
}
const doubles = (...ds: number[]): Buffer =>
  Buffer.concat(ds.map((d) => Buffer.from(new Float64Array([d]).buffer)))

function records(envs: Partial<Envelope>[]): Buffer {
  // Sampled now: the gateway refuses a sample older than the processors would store (ingest/README.md).
  return Buffer.concat(envs.map((e) => codec.encode(loadEnvelope({ ts_us: Date.now() * 1000, ...e }))))
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

  it('refuses hostile Avro and decompression bombs with 4xx naming the problem, stays up and produces nothing', async () => {
    const endBefore = await topicEnd(bed.brokers, bed.config.topic)
    const v1 = new EnvelopeCodec(
      join(fileURLToPath(new URL('../../../schemas/avro/', import.meta.url)), 'history', 'v1'),
    )
    const fp = codec.fingerprint
    const cpuItem = Buffer.concat([varint(0n), ...Array.from({ length: 10 }, () => varint(1n))])
    const zstdFrame = (wd: number, blocks: number, size: number): Buffer => {
      const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, wd])]
      for (let i = 0; i < blocks; i++) {
        const h = (size << 3) | 2 | (i === blocks - 1 ? 1 : 0)
        parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, h >> 16, 0]))
      }
      return Buffer.concat(parts)
    }
    const zstd = { ...auth(acmeIngest), 'content-encoding': 'zstd' }
    const cases: [string, Buffer, Record<string, string>, number, string, RegExp][] = [
      [
        'cpu array block of 2^32−1 items',
        Buffer.concat([
          head(fp),
          varint(0n),
          varint(100n),
          varint(1n),
          cpuItem,
          varint(4294967295n),
          varint(1n),
        ]),
        auth(acmeIngest),
        400,
        'BAD_PAYLOAD',
        /^TRUNCATED: record 0 \(byte 0\): sample\(CpuSample\)\.cpus: array block at byte \d+ declares 4294967295 items but 1 bytes remain/,
      ],
      [
        'map of 2^50 entries',
        Buffer.concat([head(fp), varint(1n), varint(2n ** 50n)]),
        auth(acmeIngest),
        400,
        'BAD_PAYLOAD',
        /^TRUNCATED: record 0 \(byte 0\): sample\(MemorySample\)\.fields: map block at byte \d+ declares 1125899906842624 entries/,
      ],
      [
        '6-byte tenant length',
        Buffer.concat([
          head(fp, Buffer.from([0x88, 0x80, 0x80, 0x80, 0x80, 0x00])),
          varint(4n),
          doubles(0.5, 0.25, 0.125),
          varint(1n),
          varint(2n),
          varint(3n),
        ]),
        auth(acmeIngest),
        400,
        'BAD_PAYLOAD',
        /^INVALID_RECORD: record 0 \(byte 0\): tenant: varint at byte 10 is overlong/,
      ],
      [
        'older writer int beyond 32 bits',
        Buffer.concat([
          head(v1.fingerprint),
          varint(4n),
          doubles(0.5, 0.25, 0.125),
          varint(2n ** 32n),
          varint(2n),
          varint(3n),
        ]),
        auth(acmeIngest),
        400,
        'BAD_PAYLOAD',
        /^OUT_OF_RANGE: record 0 \(byte 0\): sample\(LoadSample\)\.threads_running: int at byte \d+ is 4294967296, beyond 32 bits/,
      ],
      [
        'long beyond 2^53',
        Buffer.concat([
          head(fp, varint(4n), -(2n ** 53n) - 1n),
          varint(4n),
          doubles(0.5, 0.25, 0.125),
          varint(1n),
          varint(2n),
          varint(3n),
        ]),
        auth(acmeIngest),
        400,
        'BAD_PAYLOAD',
        /^OUT_OF_RANGE: record 0 \(byte 0\): seq: long at byte \d+ is -9007199254740993, beyond ±\(2\^53−1\)/,
      ],
      [
        'zstd frame declaring a 1.875 GiB window',
        zstdFrame((20 << 3) | 7, 8, 128 * 1024),
        zstd,
        413,
        'PAYLOAD_TOO_LARGE',
        /^zstd frame at byte 0 declares a 1\.875 GiB window; at most 8 MiB/,
      ],
      [
        'zstd frame of 16,000 blocks',
        zstdFrame(13 << 3, 16_000, 1),
        zstd,
        413,
        'PAYLOAD_TOO_LARGE',
        /^zstd body needs more than 2\.000 GiB of window copies/,
      ],
    ]
    for (const [what, body, headers, status, code, message] of cases) {
      const started = performance.now()
      const res = await post(body, headers)
      expect({ what, status: res.status, code: res.json.code }).toEqual({ what, status, code })
      expect(String(res.json.error), what).toMatch(message)
      expect(performance.now() - started, what).toBeLessThan(2000)
    }
    const health = await fetch(`${bed.gateway.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await topicEnd(bed.brokers, bed.config.topic)).toBe(endBefore)
    const good = await post(
      records([{ host_id: 'after-hostile', seq: 1, ts_us: Date.now() * 1000 }]),
      auth(acmeIngest),
    )
    expect(good).toMatchObject({ status: 202, json: { accepted: 1 } })
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
        /^NOT_SINGLE_OBJECT: record 0 \(byte 0\)/,
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
        new RegExp(`^TRUNCATED: record 2 \\(byte ${String(2 * good.length)}\\)`),
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
