/**
 * The processors drop a record whose seq is at or below the highest stored for its agent (they take it
 * for a resend: stream-processors/src/sequence-guard.ts), so one host's records must reach the topic
 * in seq order. A request over 900 KiB becomes several Kafka messages; through the real gateway and
 * the real broker, with its four producers and other hosts sending at the same time, they must land
 * in the order of the request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { MAX_RECORD_BYTES } from '#schemas/src/admission.ts'
import { loadEnvelope } from '#test/support/envelopes.ts'
import { openGatewayTestbed, type GatewayTestbed } from '#test/support/gateway-testbed.ts'
import { readTopic } from '#test/support/topic.ts'

const AVRO = 'application/vnd.procstream.avro'
const codec = envelopeCodec()
/** About 2.4 pieces: two full ones and a smaller last one, which is quicker to compress and send. */
const LARGE_BYTES = Math.round(2.4 * MAX_RECORD_BYTES)
const LARGE_REQUESTS = 6
const LARGE_HOSTS = ['big-1', 'big-2', 'big-3']
const SMALL_HOSTS = ['small-1', 'small-2', 'small-3']
const SMALL_RECORDS = 20

let bed: GatewayTestbed
let key = ''

beforeAll(async () => {
  // The gateway's own defaults: four producers, 900 KiB per produce request.
  bed = await openGatewayTestbed('gateway_order', { partitions: 2 })
  key = await bed.key('acme', ['ingest'])
})

afterAll(async () => {
  await bed.close()
})

/** A memory sample of 60 fields (about 1.3 KB): values vary by seq, so gzip cannot shrink it to nothing. */
function record(host: string, seq: number): Buffer {
  const fields = Object.fromEntries(
    Array.from({ length: 60 }, (_, i) => [`field_${String(i)}_bytes`, (seq * 7919 + i * 104_729) % 1e9]),
  )
  return codec.encode(
    loadEnvelope({
      tenant: 'acme',
      host_id: host,
      hostname: host,
      agent_id: `agent-${host}`,
      seq,
      ts_us: Date.now() * 1000,
      sample: { family: 'memory', data: { fields } },
    }),
  )
}

/** Records of `host` from seq `from` on, until the body reaches `bytes`; returns it and the next seq. */
function body(host: string, from: number, bytes: number): { body: Buffer; next: number } {
  const parts: Buffer[] = []
  let size = 0
  let seq = from
  while (size < bytes) {
    const r = record(host, seq++)
    parts.push(r)
    size += r.length
  }
  return { body: Buffer.concat(parts, size), next: seq }
}

async function post(payload: Buffer): Promise<void> {
  const res = await fetch(`${bed.gateway.url}/v1/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': AVRO },
    body: payload,
  })
  // As an agent does: the host's next request only once this one is acknowledged.
  expect(res.status, await res.text()).toBe(202)
}

describe('one host’s records in order', () => {
  it(
    'lands the pieces of requests over 900 KiB in seq order, each host’s whole run exactly once, while other hosts send at the same time',
    { timeout: 120_000 },
    async () => {
      const sent = new Map<string, number>()
      let largeDone = false
      const large = async (host: string): Promise<void> => {
        let seq = 0
        for (let r = 0; r < LARGE_REQUESTS; r++) {
          const next = body(host, seq, LARGE_BYTES)
          await post(next.body)
          seq = next.next
        }
        sent.set(host, seq)
      }
      // Small requests in between, which share produce requests with the large ones' pieces.
      const small = async (host: string): Promise<void> => {
        let seq = 0
        while (!largeDone) {
          await post(Buffer.concat(Array.from({ length: SMALL_RECORDS }, (_, i) => record(host, seq + i))))
          seq += SMALL_RECORDS
        }
        sent.set(host, seq)
      }
      const smalls = SMALL_HOSTS.map(small)
      await Promise.all(LARGE_HOSTS.map(large))
      largeDone = true
      await Promise.all(smalls)

      const messages = await readTopic(bed.brokers, bed.config.topic)
      const seqs = new Map<string, number[]>()
      const pieces = new Map<string, number>()
      for (const m of messages) {
        pieces.set(m.key, (pieces.get(m.key) ?? 0) + 1)
        for (const e of codec.decodeAll(m.value)) {
          let list = seqs.get(e.host_id)
          if (!list) seqs.set(e.host_id, (list = []))
          list.push(e.seq)
        }
      }
      // Every large request was cut into three messages at least.
      for (const host of LARGE_HOSTS)
        expect(pieces.get(`acme/${host}`), host).toBeGreaterThanOrEqual(3 * LARGE_REQUESTS)
      for (const host of [...LARGE_HOSTS, ...SMALL_HOSTS]) {
        const landed = seqs.get(host) ?? []
        // Named where it breaks: the first seq that landed after a higher one of its host.
        const late = landed.findIndex((s, i) => i > 0 && s <= (landed[i - 1] as number))
        expect(
          late === -1 ? 'in order' : `seq ${String(landed[late])} after ${String(landed[late - 1])}`,
          host,
        ).toBe('in order')
        expect(landed, host).toEqual(Array.from({ length: sent.get(host) ?? -1 }, (_, i) => i))
      }
    },
  )
})
