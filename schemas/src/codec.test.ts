import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { EnvelopeCodec, replaceTenant } from './codec.ts'
import { SchemaError } from './errors.ts'
import type { Envelope } from './families.ts'
import { fingerprintBytes, rabinFingerprint64 } from './rabin.ts'

const AVRO_DIR = fileURLToPath(new URL('../avro/', import.meta.url))

function loadEnvelope(seq: number): Envelope {
  return {
    tenant: 'acme',
    host_id: 'host-1',
    hostname: 'web-1',
    agent_id: 'agent-a',
    seq,
    ts_us: 1_795_000_000_123_456,
    interval_ms: 1000,
    sample: {
      family: 'load',
      data: {
        load1: 0.5,
        load5: 0.25,
        load15: 0.125,
        threads_running: 2,
        threads_total: 300,
        last_pid: 4242,
      },
    },
  }
}

describe('CRC-64-AVRO fingerprint', () => {
  it('matches the Avro reference implementation', () => {
    // Vectors computed with the Apache Avro Python library (schema.fingerprint('CRC-64-AVRO')).
    expect(fingerprintBytes(rabinFingerprint64(Buffer.from('"int"'))).toString('hex')).toBe(
      '8f5c393f1ad57572',
    )
    const record = '{"name":"a.B","type":"record","fields":[{"name":"x","type":"long"}]}'
    expect(fingerprintBytes(rabinFingerprint64(Buffer.from(record))).toString('hex')).toBe('110f075ebe745d65')
  })
})

describe('EnvelopeCodec', () => {
  const codec = new EnvelopeCodec()

  it('round-trips several single-object records concatenated in one payload', () => {
    const a = codec.encode(loadEnvelope(1))
    const b = codec.encode({
      ...loadEnvelope(2),
      sample: { family: 'memory', data: { fields: { MemTotal: 8 * 1024 ** 3, HugePages_Total: 0 } } },
    })
    expect(a.subarray(0, 2).toString('hex')).toBe('c301')
    expect(a.subarray(2, 10).equals(codec.fingerprint)).toBe(true)
    const out = codec.decodeAll(Buffer.concat([a, b]))
    expect(out).toHaveLength(2)
    expect(out[0]).toEqual(loadEnvelope(1))
    expect(out[1]?.sample).toEqual({
      family: 'memory',
      data: { fields: { MemTotal: 8 * 1024 ** 3, HugePages_Total: 0 } },
    })
  })

  it('replaces the tenant in place exactly as encoding again would, whatever the lengths', () => {
    const long = 'x'.repeat(200) // a two-byte length varint, before and after
    for (const [from, to] of [
      ['acme', 'globex'],
      ['a-much-longer-claimed-tenant', 'b'],
      ['', 'acme'],
      [long, 'acme'],
      ['acme', long],
      ['ünïcode', 'acme'],
    ] as const) {
      const record = codec.encode({ ...loadEnvelope(7), tenant: from })
      const replaced = replaceTenant(record, to)
      expect(replaced.equals(codec.encode({ ...loadEnvelope(7), tenant: to }))).toBe(true)
      expect(codec.decodeAll(replaced)).toEqual([{ ...loadEnvelope(7), tenant: to }])
    }
  })

  it('names what is wrong with bad payloads', () => {
    const good = codec.encode(loadEnvelope(1))
    const expectCode = (buf: Buffer, code: string, text: RegExp): void => {
      let caught: unknown
      try {
        codec.decodeAll(buf)
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(SchemaError)
      expect((caught as SchemaError).code).toBe(code)
      expect((caught as SchemaError).message).toMatch(text)
    }
    expectCode(Buffer.alloc(0), 'EMPTY_PAYLOAD', /empty/)
    expectCode(Buffer.from('{"json":true}'), 'NOT_SINGLE_OBJECT', /marker c301/)
    const unknown = Buffer.from(good)
    unknown[5] = (unknown[5] ?? 0) ^ 0xff
    expectCode(unknown, 'UNKNOWN_FINGERPRINT', /unknown schema fingerprint/)
    expectCode(good.subarray(0, good.length - 3), 'TRUNCATED', /truncated/)
    expectCode(Buffer.concat([good, good.subarray(0, 6)]), 'TRUNCATED', new RegExp(`byte ${good.length}`))
  })

  it('rejects an envelope that does not match the schema, naming the field', () => {
    const bad = { ...loadEnvelope(1), seq: 'seven' } as unknown as Envelope
    expect(() => codec.encode(bad)).toThrow(/seq/)
  })

  it('reads records written with an older schema version, filling new fields with defaults', () => {
    // Build an "old" schema set without the `hostname` field, as an older agent would have written.
    const dir = mkdtempSync(join(tmpdir(), 'avro-old-'))
    cpSync(AVRO_DIR, dir, { recursive: true })
    const env = JSON.parse(readFileSync(join(dir, 'envelope.avsc'), 'utf8')) as { fields: { name: string }[] }
    env.fields = env.fields.filter((f) => f.name !== 'hostname')
    writeFileSync(join(dir, 'envelope.avsc'), JSON.stringify(env))
    const oldCodec = new EnvelopeCodec(dir)
    const oldBytes = oldCodec.encode(loadEnvelope(9))
    expect(() => codec.decodeAll(oldBytes)).toThrow(/unknown schema fingerprint/)

    const reader = new EnvelopeCodec()
    reader.addWriterSchema(oldCodec.readerType)
    const [decoded] = reader.decodeAll(oldBytes)
    expect(decoded).toEqual({ ...loadEnvelope(9), hostname: '' })
  })

  it('decodes pressure written with history/v3 (before irq and the metrics record) with irq null', () => {
    const v3 = new EnvelopeCodec(join(AVRO_DIR, 'history', 'v3'))
    expect(codec.knownFingerprints()).toContain(v3.fingerprint.toString('hex'))
    const line = { avg10: 0, avg60: 1, avg300: 2, total_us: 3 }
    const old = {
      cpu: { some: line, full: null },
      memory: { some: line, full: line },
      io: { some: line, full: line },
    }
    const written = v3.encode({
      ...loadEnvelope(6),
      sample: { family: 'pressure', data: { ...old, irq: null } },
    })
    expect(codec.decodeAll(written)).toEqual([
      { ...loadEnvelope(6), sample: { family: 'pressure', data: { ...old, irq: null } } },
    ])
    // The old writer schema cannot carry a collector's record.
    expect(() =>
      v3.encode({
        ...loadEnvelope(7),
        sample: { family: 'metrics', data: { collector: 'filefd', metrics: [] } },
      }),
    ).toThrow(SchemaError)
  })

  it('decodes payloads written with the schema set kept in history/v1 (before pressure, vmstat, filesystem)', () => {
    const v1 = new EnvelopeCodec(join(AVRO_DIR, 'history', 'v1'))
    expect(v1.fingerprint.equals(codec.fingerprint)).toBe(false)
    expect(codec.knownFingerprints()).toContain(v1.fingerprint.toString('hex'))
    const memory: Envelope = {
      ...loadEnvelope(4),
      sample: { family: 'memory', data: { fields: { MemTotal: 1024 } } },
    }
    expect(codec.decodeAll(Buffer.concat([v1.encode(loadEnvelope(3)), v1.encode(memory)]))).toEqual([
      loadEnvelope(3),
      memory,
    ])
    // The old writer schema cannot carry the new families at all.
    expect(() =>
      v1.encode({ ...loadEnvelope(5), sample: { family: 'vmstat', data: { fields: { pgfault: 1 } } } }),
    ).toThrow(SchemaError)
  })

  it('round-trips the pressure, vmstat and filesystem records, nulls included', () => {
    const line = (total: number): { avg10: number; avg60: number; avg300: number; total_us: number } => ({
      avg10: 0.1,
      avg60: 2,
      avg300: 3.85,
      total_us: total,
    })
    const samples: Envelope['sample'][] = [
      {
        family: 'pressure',
        data: {
          cpu: { some: line(15), full: null },
          memory: { some: line(15), full: line(25) },
          io: { some: line(7230773), full: line(0) },
          irq: { some: line(0), full: line(8494) },
        },
      },
      { family: 'vmstat', data: { fields: { pgfault: 123456789, oom_kill: 0 } } },
      {
        family: 'filesystem',
        data: {
          filesystems: [
            {
              device: '/dev/vda',
              mountpoint: '/',
              fstype: 'ext4',
              readonly: false,
              error: null,
              statfs: {
                block_size: 4096,
                blocks: 66053021,
                blocks_free: 62492319,
                blocks_avail: 20314614,
                files: 16777216,
                files_free: 16341327,
              },
            },
            {
              device: 'server:/export',
              mountpoint: '/mnt/nfs',
              fstype: 'nfs4',
              readonly: true,
              error: 'EACCES',
              statfs: null,
            },
          ],
        },
      },
    ]
    const payload = Buffer.concat(samples.map((sample, i) => codec.encode({ ...loadEnvelope(i), sample })))
    expect(codec.decodeAll(payload).map((e) => e.sample)).toEqual(samples)
  })
})
