import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import avro from 'avsc'
import { describe, expect, it } from 'vitest'
import { BoundsCheck, DEFAULT_DECODE_LIMITS, BoundsFault, type DecodeLimits } from './avro-bounds.ts'
import { EnvelopeCodec, replaceTenant } from './codec.ts'
import { SchemaError } from './errors.ts'
import { readExactVarint, writeExactVarint } from './exact-long.ts'
import type { Envelope, Family, Sample } from './families.ts'

const AVRO_DIR = fileURLToPath(new URL('../avro/', import.meta.url))
const codec = new EnvelopeCodec()
const v1 = new EnvelopeCodec(join(AVRO_DIR, 'history', 'v1'))
const v2 = new EnvelopeCodec(join(AVRO_DIR, 'history', 'v2'))
const v3 = new EnvelopeCodec(join(AVRO_DIR, 'history', 'v3'))

/** Zigzag varint of any 64-bit value (BigInt: the test must be able to write what the codec refuses). */
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
const str = (s: string): Buffer => Buffer.concat([varint(BigInt(Buffer.byteLength(s))), Buffer.from(s)])
const dbl = (d: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(d)
  return b
}

/** The envelope's fields before `sample`, by hand, so tests can write what avsc would not. */
function envelopeHead(
  fp: Buffer,
  over: { tenant?: Buffer; seq?: bigint; ts?: bigint; interval?: bigint } = {},
): Buffer {
  return Buffer.concat([
    Buffer.from([0xc3, 0x01]),
    fp,
    over.tenant ?? str('acme'),
    str('web-1'),
    str('web-1'),
    str('agent-a'),
    varint(over.seq ?? 7n),
    varint(over.ts ?? 1_795_000_000_000_000n),
    varint(over.interval ?? 1000n),
  ])
}
const LOAD_BODY = Buffer.concat([dbl(0.5), dbl(0.25), dbl(0.125), varint(2n), varint(300n), varint(4242n)])
const LOAD_BRANCH = 4n // index of LoadSample in every envelope version's union

function caughtSchemaError(fn: () => unknown): SchemaError {
  try {
    fn()
  } catch (err) {
    if (err instanceof SchemaError) return err
    throw err
  }
  throw new Error('expected a SchemaError, nothing was thrown')
}

const SAMPLES: Record<Family, Sample['data']> = {
  cpu: {
    user_hz: 100,
    cpus: [
      {
        cpu: -1,
        user: 10,
        nice: 1,
        system: 5,
        idle: 900,
        iowait: 2,
        irq: 0,
        softirq: 1,
        steal: 0,
        guest: 0,
        guest_nice: 0,
      },
      {
        cpu: 0,
        user: 10,
        nice: 1,
        system: 5,
        idle: 900,
        iowait: 2,
        irq: 0,
        softirq: 1,
        steal: 0,
        guest: 0,
        guest_nice: 0,
      },
    ],
    intr: 123,
    ctxt: 456,
    btime: 1_700_000_000,
    processes: 99,
    procs_running: 1,
    procs_blocked: 0,
  },
  memory: { fields: { MemTotal: 8 * 1024 ** 3, MemFree: 1024 } },
  network: {
    interfaces: [
      {
        device: 'eth0',
        rx_bytes: 1,
        rx_packets: 2,
        rx_errs: 0,
        rx_drop: 0,
        rx_fifo: 0,
        rx_frame: 0,
        rx_compressed: 0,
        rx_multicast: 0,
        tx_bytes: 3,
        tx_packets: 4,
        tx_errs: 0,
        tx_drop: 0,
        tx_fifo: 0,
        tx_colls: 0,
        tx_carrier: 0,
        tx_compressed: 0,
      },
    ],
  },
  disk: {
    devices: [
      {
        device: 'vda',
        major: 253,
        minor: 0,
        reads_completed: 1,
        reads_merged: 2,
        sectors_read: 3,
        read_time_ms: 4,
        writes_completed: 5,
        writes_merged: 6,
        sectors_written: 7,
        write_time_ms: 8,
        io_in_progress: 0,
        io_time_ms: 9,
        weighted_io_time_ms: 10,
        discards_completed: null,
        discards_merged: 1,
        sectors_discarded: null,
        discard_time_ms: 2,
        flushes_completed: 3,
        flush_time_ms: null,
      },
    ],
  },
  load: { load1: 0.5, load5: 0.25, load15: 0.125, threads_running: 2, threads_total: 300, last_pid: 4242 },
  pressure: {
    cpu: { some: { avg10: 0.1, avg60: 0.2, avg300: 0.3, total_us: 5 }, full: null },
    memory: {
      some: { avg10: 0, avg60: 0, avg300: 0, total_us: 1 },
      full: { avg10: 0, avg60: 0, avg300: 0, total_us: 2 },
    },
    io: { some: { avg10: 1, avg60: 2, avg300: 3, total_us: 4 }, full: null },
    irq: null,
  },
  vmstat: { fields: { pgfault: 12, pgmajfault: 3 } },
  filesystem: {
    filesystems: [
      {
        device: '/dev/vda1',
        mountpoint: '/',
        fstype: 'ext4',
        readonly: false,
        error: null,
        statfs: {
          block_size: 4096,
          blocks: 100,
          blocks_free: 50,
          blocks_avail: 40,
          files: 10,
          files_free: 5,
        },
      },
      { device: 'nfs:/x', mountpoint: '/x', fstype: 'nfs', readonly: true, error: 'EIO', statfs: null },
    ],
  },
  agent: {
    start_time_us: 1_795_000_000_000_000,
    samples: 10,
    collect_seconds: 0.5,
    ticks_late: 0,
    ticks_missed: 0,
    parse_errors: { cpu: 1 },
    read_errors: {},
    records_sent: 9,
    messages_sent: 3,
    bytes_sent: 1000,
    send_errors: 0,
    queued_records: 0,
    queued_bytes: 0,
    spool_records: 0,
    spool_bytes: 0,
    dropped_records: 0,
    cpu_seconds: 0.25,
    resident_memory_bytes: 50_000_000,
  },
  metrics: {
    collector: 'netclass',
    metrics: [
      {
        name: 'node_network_up',
        type: 'GAUGE',
        series: [
          { labels: { device: 'eth0' }, value: 1 },
          { labels: { device: 'lo' }, value: 0 },
        ],
      },
      { name: 'node_network_carrier_changes_total', type: 'COUNTER', series: [{ labels: {}, value: 7 }] },
    ],
  },
}
const FAMILIES_OF: [string, EnvelopeCodec, Family[]][] = [
  [
    'current',
    codec,
    ['cpu', 'memory', 'network', 'disk', 'load', 'pressure', 'vmstat', 'filesystem', 'agent', 'metrics'],
  ],
  [
    'history/v3',
    v3,
    ['cpu', 'memory', 'network', 'disk', 'load', 'pressure', 'vmstat', 'filesystem', 'agent'],
  ],
  ['history/v2', v2, ['cpu', 'memory', 'network', 'disk', 'load', 'pressure', 'vmstat', 'filesystem']],
  ['history/v1', v1, ['cpu', 'memory', 'network', 'disk', 'load']],
]
function envelope(family: Family, seq = 1): Envelope {
  return {
    tenant: 'acme',
    host_id: 'web-1',
    hostname: 'web-1',
    agent_id: 'agent-a',
    seq,
    ts_us: 1_795_000_000_000_000,
    interval_ms: 1000,
    sample: { family, data: SAMPLES[family] } as Sample,
  }
}

describe('bounded decoding: the reproductions of issue 22', () => {
  it('refuses a cpu array whose last block declares 2^32−1 items, before allocating them', () => {
    // user_hz, one block of one cpu, then a block of 4294967295 items where the terminator belongs.
    const cpu = Buffer.concat([varint(0n), ...Array.from({ length: 10 }, () => varint(1n))])
    const body = Buffer.concat([
      envelopeHead(codec.fingerprint),
      varint(0n), // CpuSample
      varint(100n),
      varint(1n),
      cpu,
      varint(4294967295n),
      varint(1n),
    ])
    expect(body.length).toBeLessThan(100)
    const heapBefore = process.memoryUsage().heapUsed
    const err = caughtSchemaError(() => codec.decodeAll(body))
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(16 * 1024 * 1024)
    expect(err.code).toBe('TRUNCATED')
    expect(err.message).toMatch(
      /^record 0 \(byte 0\): sample\(CpuSample\)\.cpus: array block at byte \d+ declares 4294967295 items but 1 bytes remain \(each takes at least 11\)$/,
    )
    expect(err.record).toEqual({ index: 0, offset: 0, field: 'sample(CpuSample).cpus' })
  })

  it('refuses a map declaring 2^50 entries instead of reading past the end forever', () => {
    const good = codec.encode(envelope('load'))
    const body = Buffer.concat([envelopeHead(codec.fingerprint), varint(1n), varint(2n ** 50n)])
    const started = performance.now()
    const err = caughtSchemaError(() => codec.decodeAll(Buffer.concat([good, body])))
    expect(performance.now() - started).toBeLessThan(100)
    expect(err.code).toBe('TRUNCATED')
    expect(err.message).toMatch(
      new RegExp(
        `^record 1 \\(byte ${good.length}\\): sample\\(MemorySample\\)\\.fields: map block at byte \\d+ declares 1125899906842624 entries but 0 bytes remain`,
      ),
    )
  })

  it('refuses an overlong varint (a 6-byte tenant length) as a malformed record', () => {
    const padded = Buffer.from([0x88, 0x80, 0x80, 0x80, 0x80, 0x00]) // 4, padded to 6 bytes
    const body = Buffer.concat([
      envelopeHead(codec.fingerprint, { tenant: Buffer.concat([padded, Buffer.from('acme')]) }),
      varint(LOAD_BRANCH),
      LOAD_BODY,
    ])
    const err = caughtSchemaError(() => codec.decodeAll(body))
    expect(err.code).toBe('INVALID_RECORD')
    expect(err.message).toBe(
      'record 0 (byte 0): tenant: varint at byte 10 is overlong: 6 bytes padded with zero groups where fewer hold its value',
    )
    // The same record with a minimal length decodes, and its tenant can be replaced.
    const minimal = Buffer.concat([envelopeHead(codec.fingerprint), varint(LOAD_BRANCH), LOAD_BODY])
    expect(codec.decodeAll(minimal)[0]?.tenant).toBe('acme')
    expect(codec.decodeAll(replaceTenant(minimal, 'globex'))[0]?.tenant).toBe('globex')
    // replaceTenant refuses a length its record cannot back rather than splice at the wrong byte.
    const lying = Buffer.concat([envelopeHead(codec.fingerprint, { tenant: varint(1000n) })])
    expect(caughtSchemaError(() => replaceTenant(lying, 'globex')).code).toBe('INVALID_RECORD')
  })

  it("refuses an older writer's int beyond 32 bits, naming the field", () => {
    const body = Buffer.concat([
      envelopeHead(v1.fingerprint),
      varint(LOAD_BRANCH),
      Buffer.concat([dbl(0.5), dbl(0.25), dbl(0.125), varint(2n ** 32n), varint(300n), varint(4242n)]),
    ])
    const err = caughtSchemaError(() => codec.decodeAll(body))
    expect(err.code).toBe('OUT_OF_RANGE')
    expect(err.message).toMatch(
      /^record 0 \(byte 0\): sample\(LoadSample\)\.threads_running: int at byte \d+ is 4294967296, beyond 32 bits/,
    )
    // The boundary values of an int pass, from the old writer and the current one.
    for (const fp of [v1.fingerprint, codec.fingerprint]) {
      const edge = Buffer.concat([
        envelopeHead(fp, { interval: -(2n ** 31n) }),
        varint(LOAD_BRANCH),
        Buffer.concat([dbl(0.5), dbl(0.25), dbl(0.125), varint(2n ** 31n - 1n), varint(300n), varint(4242n)]),
      ])
      const [decoded] = codec.decodeAll(edge)
      expect(decoded?.interval_ms).toBe(-(2 ** 31))
      expect(decoded?.sample.data).toMatchObject({ threads_running: 2 ** 31 - 1 })
    }
  })

  it('keeps every long within ±(2^53−1) exact and refuses those beyond, never changing one', () => {
    const exact = [
      -4503599627370497n, // issue 22: came back as 4503599627370496
      2n ** 53n - 1n,
      -(2n ** 53n - 1n),
      2n ** 52n,
      -(2n ** 52n),
      2n ** 52n - 1n,
      -(2n ** 52n) - 1n,
      0n,
      -1n,
    ]
    for (const [name, fp] of [
      ['current', codec.fingerprint],
      ['history/v1', v1.fingerprint],
    ] as const) {
      for (const v of exact) {
        // seq (long), ts_us (timestamp-micros long) and a memory map value (map<long>).
        const body = Buffer.concat([
          envelopeHead(fp, { seq: v, ts: -v }),
          varint(1n),
          varint(1n),
          str('MemTotal'),
          varint(v),
          varint(0n),
        ])
        const [decoded] = codec.decodeAll(body)
        expect({ name, seq: BigInt(decoded?.seq ?? 0) }).toEqual({ name, seq: v })
        expect(BigInt(decoded?.ts_us ?? 0)).toBe(-v)
        expect(
          BigInt((decoded?.sample.data as { fields: Record<string, number> }).fields.MemTotal ?? 0),
        ).toBe(v)
      }
      for (const v of [
        2n ** 53n,
        -(2n ** 53n),
        2n ** 53n + 1n,
        -(2n ** 53n) - 1n,
        2n ** 63n - 1n,
        -(2n ** 63n),
      ]) {
        const body = Buffer.concat([envelopeHead(fp, { seq: v }), varint(LOAD_BRANCH), LOAD_BODY])
        const err = caughtSchemaError(() => codec.decodeAll(body))
        expect(err.code).toBe('OUT_OF_RANGE')
        expect(err.message).toBe(
          `record 0 (byte 0): seq: long at byte ${String(envelopeHead(fp).length - varint(7n).length - varint(1_795_000_000_000_000n).length - varint(1000n).length)} is ${String(v)}, beyond ±(2^53−1): values are stored as doubles and this one would change`,
        )
      }
    }
    // A long in a union (disk's ["null","long"]) takes the same path.
    const disk = codec.encode(envelope('disk'))
    const [decodedDisk] = codec.decodeAll(disk)
    expect(decodedDisk).toEqual(envelope('disk'))
  })

  it('encodes and decodes the exact long the same way avsc would, for every safe integer tried', () => {
    const values = [
      0,
      1,
      -1,
      63,
      -64,
      64,
      -65,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 52,
      -(2 ** 52) - 1,
      2 ** 53 - 1,
      -(2 ** 53 - 1),
    ]
    for (let i = 0; i < 2000; i++)
      values.push(Math.round((Math.random() - 0.5) * 2 * Number.MAX_SAFE_INTEGER))
    for (const v of values) {
      const bytes = writeExactVarint(v)
      expect(bytes.equals(varint(BigInt(v)))).toBe(true)
      expect(readExactVarint(bytes, 0, bytes.length)).toBe(v)
    }
    expect(readExactVarint(varint(2n ** 53n), 0, 8)).toBeUndefined()
    expect(() => writeExactVarint(2 ** 53)).toThrow(/not a long/)
  })
})

describe('bounded decoding: what the walk checks', () => {
  const limits: DecodeLimits = { ...DEFAULT_DECODE_LIMITS }
  const check = (
    schema: avro.Schema,
    bytes: Buffer,
    over: Partial<DecodeLimits> = {},
  ): BoundsFault | number => {
    const bounds = new BoundsCheck(avro.Type.forSchema(schema), { ...limits, ...over })
    try {
      return bounds.check(bytes, 0, bytes.length, over.maxPayloadItems ?? limits.maxPayloadItems).end
    } catch (err) {
      if (err instanceof BoundsFault) return err
      throw err
    }
  }
  const fault = (result: BoundsFault | number): string =>
    result instanceof BoundsFault
      ? `${result.code} ${result.path}: ${result.problem}`
      : `ok ${String(result)}`

  it('caps items of a type that takes no bytes, which no byte count can bound', () => {
    const nulls = { type: 'array', items: 'null' } as const
    expect(fault(check(nulls, Buffer.concat([varint(1024n), varint(0n)])))).toBe('ok 3')
    expect(fault(check(nulls, Buffer.concat([varint(1025n), varint(0n)])))).toBe(
      'RECORD_LIMIT : array block at byte 0 declares 1025 items of a type that takes no bytes; at most 1024 per record',
    )
    const empty = { type: 'array', items: { type: 'record', name: 'E', fields: [] } } as avro.Schema
    expect(fault(check(empty, Buffer.concat([varint(2n ** 40n), varint(0n)])))).toMatch(
      /^RECORD_LIMIT .*takes no bytes/,
    )
  })

  it('reads negative block counts with their byte size, and refuses a size that lies', () => {
    const longs = { type: 'array', items: 'long' } as const
    const items = Buffer.concat([varint(1n), varint(300n)]) // 1 + 2 bytes
    const good = Buffer.concat([varint(-2n), varint(3n), items, varint(0n)])
    expect(fault(check(longs, good))).toBe(`ok ${String(good.length)}`)
    expect(avro.Type.forSchema(longs).fromBuffer(good)).toEqual([1, 300])
    expect(fault(check(longs, Buffer.concat([varint(-2n), varint(4n), items, varint(0n), varint(0n)])))).toBe(
      'INVALID_RECORD : array block at byte 0 declares 4 bytes but its items take 3',
    )
    expect(fault(check(longs, Buffer.concat([varint(-2n), varint(-3n), items, varint(0n)])))).toMatch(
      /^INVALID_RECORD .*byte size -3/,
    )
    expect(fault(check(longs, Buffer.concat([varint(-2n), varint(99n), items, varint(0n)])))).toMatch(
      /^TRUNCATED .*needs 99 bytes but 4 remain/,
    )
  })

  it('checks union and enum indexes, fixed sizes, booleans, string lengths and varint widths', () => {
    const rec = {
      type: 'record',
      name: 'R',
      fields: [
        { name: 'u', type: ['null', 'string'] },
        { name: 'e', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
        { name: 'f', type: { type: 'fixed', name: 'Four', size: 4 } },
        { name: 'b', type: 'boolean' },
        { name: 'l', type: 'long' },
      ],
    } as avro.Schema
    const tail = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from([1]), varint(5n)])
    const good = Buffer.concat([varint(1n), str('hi'), varint(1n), tail])
    expect(fault(check(rec, good))).toBe(`ok ${String(good.length)}`)
    expect(fault(check(rec, Buffer.concat([varint(2n), varint(1n), tail])))).toBe(
      'INVALID_RECORD u: union branch index at byte 0 is 2, not 0…1',
    )
    expect(fault(check(rec, Buffer.concat([varint(-1n), varint(1n), tail])))).toMatch(
      /^INVALID_RECORD u: .* is -1/,
    )
    expect(fault(check(rec, Buffer.concat([varint(0n), varint(2n), tail])))).toBe(
      'INVALID_RECORD e: enum Color at byte 1 has symbol index 2, not 0…1',
    )
    expect(fault(check(rec, Buffer.concat([varint(0n), varint(1n), Buffer.from([0, 0, 0])])))).toMatch(
      /^TRUNCATED f: fixed Four of 4 bytes at byte 2 is truncated/,
    )
    expect(
      fault(check(rec, Buffer.concat([varint(0n), varint(1n), Buffer.from([0, 0, 0, 0, 2]), varint(5n)]))),
    ).toBe('INVALID_RECORD b: boolean at byte 6 is 2, not 0 or 1')
    expect(fault(check(rec, Buffer.concat([varint(1n), varint(1000n), Buffer.from('hi')])))).toBe(
      'TRUNCATED u: string at byte 1 declares 1000 bytes but 2 remain',
    )
    expect(fault(check(rec, Buffer.concat([varint(1n), varint(-5n), Buffer.from('hi')])))).toMatch(
      /^INVALID_RECORD u: string at byte 1 has a negative length -5/,
    )
    const head = Buffer.concat([varint(0n), varint(1n), Buffer.from([0, 0, 0, 0, 1])])
    const eleven = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
    expect(fault(check(rec, Buffer.concat([head, eleven])))).toBe(
      'INVALID_RECORD l: varint at byte 7 is longer than 10 bytes',
    )
    const over64 = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
    expect(fault(check(rec, Buffer.concat([head, over64])))).toBe(
      'INVALID_RECORD l: varint at byte 7 is beyond 64 bits',
    )
    expect(fault(check(rec, Buffer.concat([head, Buffer.from([0x80, 0x80])])))).toMatch(
      /^TRUNCATED l: varint at byte 7 is truncated/,
    )
  })

  it('caps nesting depth (a recursive schema) and items per record and per payload', () => {
    const list = {
      type: 'record',
      name: 'Node',
      fields: [{ name: 'next', type: ['null', 'Node'] }],
    } as avro.Schema
    const deep = (n: number): Buffer =>
      Buffer.concat([...Array.from({ length: n }, () => varint(1n)), varint(0n)])
    expect(fault(check(list, deep(10)))).toBe('ok 11')
    expect(fault(check(list, deep(100), { maxDepth: 32 }))).toMatch(
      /^RECORD_LIMIT next(\(Node\)\.next)+\(Node\): nested more than 32 levels deep at byte \d+$/,
    )
    const longs = { type: 'array', items: 'long' } as const
    const five = Buffer.concat([varint(5n), ...Array.from({ length: 5 }, () => varint(1n)), varint(0n)])
    expect(fault(check(longs, five, { maxRecordItems: 4 }))).toBe(
      'RECORD_LIMIT : array block at byte 0 brings the record to 5 array items and map entries; at most 4',
    )
    expect(fault(check(longs, five, { maxPayloadItems: 4 }))).toMatch(/^PAYLOAD_LIMIT .*over 4 array items/)

    const small = new EnvelopeCodec(undefined, {
      maxPayloadItems: 5,
      maxPayloadRecords: 3,
      maxRecordBytes: 200,
    })
    const memory = small.encode({ ...envelope('memory') }) // 2 map entries
    expect(small.decodeAll(Buffer.concat([memory, memory]))).toHaveLength(2)
    expect(caughtSchemaError(() => small.decodeAll(Buffer.concat([memory, memory, memory]))).message).toMatch(
      /^record 2 \(byte \d+\): sample\(MemorySample\)\.fields: map block at byte \d+ brings the payload over 5/,
    )
    const load = small.encode(envelope('load'))
    expect(caughtSchemaError(() => small.decodeAll(Buffer.concat([load, load, load, load]))).code).toBe(
      'PAYLOAD_LIMIT',
    )
    const big = small.encode({ ...envelope('load'), host_id: 'h'.repeat(300) })
    expect(caughtSchemaError(() => small.decodeAll(big)).message).toBe(
      'record 0 (byte 0): host_id: the record is longer than 200 bytes',
    )
  })
})

describe('bounded decoding: a structure-aware fuzz of every schema, current and history', () => {
  // Values for a varint wherever one may start: counts, lengths, indexes, ints and longs all meet them.
  const VARINTS: Buffer[] = [
    varint(2n ** 32n - 1n),
    varint(-(2n ** 32n) + 1n),
    varint(2n ** 50n),
    varint(-(2n ** 50n)),
    varint(2n ** 63n - 1n),
    varint(-(2n ** 63n)),
    varint(2n ** 31n),
    varint(-1n),
    varint(-2n),
    varint(2n ** 53n + 1n),
    varint(100_000n),
    Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), // 11 bytes
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), // beyond 64 bits
    Buffer.from([0x82, 0x80, 0x80, 0x80, 0x80, 0x00]), // 1, padded to 6 bytes
  ]

  /** Run one mutated payload: records or a SchemaError, quickly, within the memory bound. */
  function attempt(
    payload: Buffer,
    stats: { cases: number; ok: number; refused: Map<string, number>; worstMs: number; worstMB: number },
  ): void {
    const before = process.memoryUsage()
    const started = performance.now()
    let outcome: unknown
    try {
      outcome = codec.decodeAll(payload)
    } catch (err) {
      outcome = err
    }
    const ms = performance.now() - started
    const after = process.memoryUsage()
    const grownMB =
      (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / 1024 / 1024
    stats.cases++
    stats.worstMs = Math.max(stats.worstMs, ms)
    stats.worstMB = Math.max(stats.worstMB, grownMB)
    if (Array.isArray(outcome)) {
      stats.ok++
      return
    }
    if (!(outcome instanceof SchemaError))
      throw new Error(`not a SchemaError for ${payload.toString('hex')}`, { cause: outcome })
    // These two would mean the walk let through bytes avsc reads differently: a hole in the check.
    expect(outcome.message, payload.toString('hex')).not.toMatch(
      /does not decode|the decoder ends the record/,
    )
    stats.refused.set(outcome.code, (stats.refused.get(outcome.code) ?? 0) + 1)
  }

  for (const [name, writer, families] of FAMILIES_OF) {
    it(`${name}: mutated counts, lengths and varints, truncation at every byte and byte flips never escape the bounds`, () => {
      const stats = { cases: 0, ok: 0, refused: new Map<string, number>(), worstMs: 0, worstMB: 0 }
      const started = performance.now()
      for (const family of families) {
        const record = writer.encode(envelope(family))
        const tail = writer.encode(envelope('load', 2)) // bytes after the record a lying count may reach for
        // The unmutated record decodes to exactly what was written, through the current reader.
        expect(codec.decodeAll(Buffer.concat([record, tail]))).toEqual([
          envelope(family),
          envelope('load', 2),
        ])
        for (let pos = 10; pos < record.length; pos++) {
          // A varint in place of the one that starts here (or of the byte, where none starts).
          let end = pos
          while (end < record.length - 1 && (record[end] ?? 0) & 0x80) end++
          for (const v of VARINTS)
            attempt(Buffer.concat([record.subarray(0, pos), v, record.subarray(end + 1), tail]), stats)
          // One-byte flips.
          for (const mask of [0x01, 0x80, 0xff]) {
            const flipped = Buffer.from(record)
            flipped[pos] = (flipped[pos] ?? 0) ^ mask
            attempt(flipped, stats)
          }
          // Truncation here, alone and followed by a good record.
          attempt(record.subarray(0, pos), stats)
          attempt(Buffer.concat([record.subarray(0, pos), tail]), stats)
        }
      }
      const totalMs = performance.now() - started
      if (process.env.FUZZ_STATS)
        console.log(name, {
          ...stats,
          refused: Object.fromEntries(stats.refused),
          totalMs: Math.round(totalMs),
        })
      // Every case came back (no hang), fast, and without allocating what the bytes declared.
      expect(stats.worstMs).toBeLessThan(250)
      expect(stats.worstMB).toBeLessThan(64)
      expect(totalMs).toBeLessThan(60_000)
      expect(stats.cases).toBeGreaterThan(1000)
      // The mutations reach every kind of refusal, and some survive as valid records.
      expect([...stats.refused.keys()].sort()).toEqual(
        expect.arrayContaining(['INVALID_RECORD', 'OUT_OF_RANGE', 'TRUNCATED']),
      )
      expect(stats.ok).toBeGreaterThan(0)
    }, 120_000)
  }
})
