import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import avro from 'avsc'
import { BoundsCheck, BoundsFault, DEFAULT_DECODE_LIMITS, type DecodeLimits } from './avro-bounds.ts'
import { SchemaError } from './errors.ts'
import { exactLongType, readExactVarint, writeExactVarint } from './exact-long.ts'
import { FAMILY_RECORD, type Envelope, type Family, type Sample } from './families.ts'
import { fingerprintBytes, rabinFingerprint64 } from './rabin.ts'

/**
 * Avro single-object encoding of envelopes (0xC3 0x01, 8-byte CRC-64-AVRO fingerprint, body).
 * A payload (Kafka message value, ingest body) is one or more such objects back to back.
 *
 * Reading resolves the writer's schema, found by its fingerprint among every schema this build
 * knows (the current ones in schemas/avro plus older versions kept in schemas/avro/history), to the
 * current reader schema, so agents of an older release keep working after a schema evolves.
 *
 * Decoding is bounded by the bytes at hand: before avsc sees a record, its bytes are walked in the
 * writer schema's layout (avro-bounds.ts) and every count, length and varint is compared with what
 * remains, under the caps of {@link DecodeLimits} per record and per payload; only then does avsc
 * decode (and resolve to the reader schema), with a `long` that reads every value in ±(2^53−1)
 * exactly (exact-long.ts). Whatever the bytes, decodeAll returns envelopes or throws a SchemaError
 * naming the record's index, its byte offset, the field and the problem; the work is linear in the
 * payload's size.
 */
const MAGIC_0 = 0xc3
const MAGIC_1 = 0x01
const HEADER_BYTES = 10

const AVRO_DIR = fileURLToPath(new URL('../avro/', import.meta.url))
const RECORD_FILES = [
  'cpu.avsc',
  'memory.avsc',
  'network.avsc',
  'disk.avsc',
  'load.avsc',
  'pressure.avsc',
  'vmstat.avsc',
  'filesystem.avsc',
  'agent.avsc',
  'metrics.avsc',
]
const FAMILY_BY_RECORD = new Map<string, Family>(
  Object.entries(FAMILY_RECORD).map(([family, record]) => [record, family as Family]),
)

interface WireEnvelope extends Omit<Envelope, 'sample'> {
  sample: Record<string, unknown>
}

/**
 * Load an envelope schema and the family records it references from one folder. A history folder
 * holds only the records its envelope knew, so record files it lacks are skipped; a record the
 * envelope names but no file defines still fails, naming the type.
 */
function loadEnvelopeType(dir: string, exactLongs = false): avro.Type {
  const registry: Record<string, avro.Type> = {}
  // The exact long changes how values are read, not the schema: its canonical form, and so the
  // fingerprint, is the same ("long"). A hook, not the registry: the registry only replaces the
  // bare name "long", not {"type": "long", "logicalType": …} (ts_us).
  const typeHook = exactLongs
    ? (schema: avro.Schema): avro.Type | undefined =>
        schema === 'long' || (typeof schema === 'object' && (schema as { type?: unknown }).type === 'long')
          ? exactLongType
          : undefined
    : undefined
  for (const file of RECORD_FILES) {
    if (!existsSync(join(dir, file))) continue
    avro.Type.forSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as avro.Schema, {
      registry,
      wrapUnions: 'auto',
      ...(typeHook && { typeHook }),
    })
  }
  return avro.Type.forSchema(JSON.parse(readFileSync(join(dir, 'envelope.avsc'), 'utf8')) as avro.Schema, {
    registry,
    wrapUnions: 'auto',
    ...(typeHook && { typeHook }),
  })
}

export function schemaFingerprint(type: avro.Type): Buffer {
  // type.schema() without exportAttrs is the Parsing Canonical Form the spec fingerprints.
  return fingerprintBytes(rabinFingerprint64(Buffer.from(JSON.stringify(type.schema()), 'utf8')))
}

interface Writer {
  /** To the reader schema with avsc's own long (undefined: the writer is the current schema). */
  resolver: avro.Resolver | undefined
  /** The same with the exact long, for records holding a long beyond ±2^52 (rare: see BoundsResult). */
  exactResolver: avro.Resolver | undefined
  /** Walks a record's bytes in this writer's layout before avsc reads them. */
  bounds: BoundsCheck
}

export class EnvelopeCodec {
  /** The current schema, for encoding and most decoding (avsc's own long: exact within ±2^52). */
  readonly readerType: avro.Type
  readonly fingerprint: Buffer
  readonly limits: Readonly<DecodeLimits>
  /** The same schema read with exact longs, for records with a long beyond ±2^52. */
  private readonly decodeType: avro.Type
  private readonly header: Buffer
  private readonly writers = new Map<string, Writer>()

  constructor(avroDir: string = AVRO_DIR, limits: Partial<DecodeLimits> = {}) {
    this.limits = Object.freeze({ ...DEFAULT_DECODE_LIMITS, ...limits })
    this.readerType = loadEnvelopeType(avroDir)
    this.decodeType = loadEnvelopeType(avroDir, true)
    this.fingerprint = schemaFingerprint(this.readerType)
    this.header = Buffer.concat([Buffer.from([MAGIC_0, MAGIC_1]), this.fingerprint])
    this.writers.set(this.fingerprint.toString('hex'), {
      resolver: undefined,
      exactResolver: undefined,
      bounds: new BoundsCheck(this.readerType, this.limits),
    })
    for (const version of listHistory(avroDir))
      this.addWriterSchema(loadEnvelopeType(join(avroDir, 'history', version), true))
  }

  /**
   * Teach the codec an older (or newer) writer schema; its records are resolved to the reader's.
   * Their bytes are bounds-checked against this writer schema, the layout they were written in.
   * (avsc resolves a writer's long with the reader's long reader, so one writer type serves both.)
   */
  addWriterSchema(type: avro.Type): string {
    const fp = schemaFingerprint(type).toString('hex')
    if (!this.writers.has(fp))
      this.writers.set(fp, {
        resolver: this.readerType.createResolver(type),
        exactResolver: this.decodeType.createResolver(type),
        bounds: new BoundsCheck(type, this.limits),
      })
    return fp
  }

  knownFingerprints(): string[] {
    return [...this.writers.keys()]
  }

  encode(envelope: Envelope): Buffer {
    const wire: WireEnvelope = {
      ...envelope,
      sample: { [FAMILY_RECORD[envelope.sample.family]]: envelope.sample.data },
    }
    let body: Buffer
    try {
      body = this.readerType.toBuffer(wire)
    } catch (err) {
      throw new SchemaError(
        'INVALID_RECORD',
        `envelope does not match the schema: ${describeInvalid(this.readerType, wire)}`,
        {
          cause: err,
        },
      )
    }
    return Buffer.concat([this.header, body])
  }

  /** Decode every single-object record in a payload; throws SchemaError naming the offset of a bad one. */
  decodeAll(payload: Uint8Array): Envelope[] {
    return this.splitRecords(payload).map((r) => r.envelope)
  }

  /**
   * Every record of a payload with its own bytes, and whether it was written with the current
   * schema (so a forwarder can pass it on unchanged); throws SchemaError on the first bad record.
   */
  splitRecords(payload: Uint8Array): { envelope: Envelope; bytes: Buffer; current: boolean }[] {
    const buf = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    if (buf.length === 0)
      throw new SchemaError('EMPTY_PAYLOAD', 'payload is empty: expected at least one Avro record')
    const out: { envelope: Envelope; bytes: Buffer; current: boolean }[] = []
    const budget = { items: this.limits.maxPayloadItems }
    let pos = 0
    while (pos < buf.length) {
      if (out.length >= this.limits.maxPayloadRecords)
        throw new SchemaError(
          'PAYLOAD_LIMIT',
          `record ${out.length} (byte ${pos}): the payload holds more than ${this.limits.maxPayloadRecords} records`,
          { record: { index: out.length, offset: pos, field: '' } },
        )
      const { envelope, next, current } = this.decodeAt(buf, pos, out.length, budget)
      out.push({ envelope, bytes: buf.subarray(pos, next), current })
      pos = next
    }
    return out
  }

  private decodeAt(
    buf: Buffer,
    pos: number,
    index: number,
    budget: { items: number },
  ): { envelope: Envelope; next: number; current: boolean } {
    const where = `record ${index} (byte ${pos})`
    const record = { index, offset: pos, field: '' }
    if (buf.length - pos < HEADER_BYTES) {
      throw new SchemaError(
        'TRUNCATED',
        `${where}: ${buf.length - pos} bytes left, too short for a single-object header`,
        { record },
      )
    }
    if (buf[pos] !== MAGIC_0 || buf[pos + 1] !== MAGIC_1) {
      throw new SchemaError(
        'NOT_SINGLE_OBJECT',
        `${where}: expected Avro single-object marker c301, found ${buf.subarray(pos, pos + 2).toString('hex')}`,
        { record },
      )
    }
    const fp = buf.subarray(pos + 2, pos + HEADER_BYTES).toString('hex')
    const writer = this.writers.get(fp)
    if (!writer) {
      throw new SchemaError('UNKNOWN_FINGERPRINT', `${where}: unknown schema fingerprint ${fp}`, { record })
    }
    // First the walk, which allocates nothing: avsc trusts counts and lengths, so it only ever sees
    // bytes whose every count and length has been found to be backed by bytes.
    let end: number
    let wide: boolean
    try {
      const walked = writer.bounds.check(
        buf,
        pos + HEADER_BYTES,
        pos + this.limits.maxRecordBytes,
        budget.items,
      )
      end = walked.end
      wide = walked.wide
      budget.items -= walked.items
    } catch (err) {
      if (!(err instanceof BoundsFault)) throw err
      const path = err.path
      throw new SchemaError(err.code, `${where}: ${path === '' ? '' : `${path}: `}${err.problem}`, {
        cause: err,
        record: { index, offset: pos, field: path },
      })
    }
    let decoded: { value: unknown; offset: number }
    try {
      decoded = wide
        ? this.decodeType.decode(buf, pos + HEADER_BYTES, writer.exactResolver)
        : this.readerType.decode(buf, pos + HEADER_BYTES, writer.resolver)
    } catch (err) {
      throw new SchemaError('INVALID_RECORD', `${where}: body does not decode: ${String(err)}`, {
        cause: err,
        record,
      })
    }
    // avsc signals "needs more bytes" with a negative offset instead of throwing; the walk has
    // already found the end, so a disagreement would be a bug in one of them: refuse, never guess.
    if (decoded.offset < 0) throw new SchemaError('TRUNCATED', `${where}: body is truncated`, { record })
    if (decoded.offset !== end)
      throw new SchemaError(
        'INVALID_RECORD',
        `${where}: the decoder ends the record at byte ${decoded.offset}, the bounds check at ${end}`,
        { record },
      )
    return {
      envelope: fromWire(decoded.value as WireEnvelope, where),
      next: end,
      current: writer.resolver === undefined,
    }
  }
}

/**
 * A current-schema record (already decoded once, so known to be well formed) with its tenant replaced:
 * the tenant is the Envelope's first field, so only the header and that string change and the rest of
 * the bytes are reused as they are. Equal to encoding the envelope again with the new tenant, at a
 * fraction of the cost; the ingest gateway does this for every record it accepts.
 */
export function replaceTenant(record: Buffer, tenant: string): Buffer {
  // decodeAll has walked the record, so its tenant length is a minimal varint backed by bytes; it is
  // checked again here anyway because a wrong length would splice the record at the wrong byte.
  let pos = HEADER_BYTES
  while (pos < record.length && pos - HEADER_BYTES < 10 && (record[pos] ?? 0) & 0x80) pos++
  const oldLength = readExactVarint(record, HEADER_BYTES, pos + 1)
  pos++
  if (oldLength === undefined || oldLength < 0 || oldLength > record.length - pos)
    throw new SchemaError('INVALID_RECORD', "the tenant length is not a varint backed by the record's bytes")
  const rest = pos + oldLength
  const name = Buffer.from(tenant, 'utf8')
  return Buffer.concat([
    record.subarray(0, HEADER_BYTES),
    writeExactVarint(name.length),
    name,
    record.subarray(rest),
  ])
}

function fromWire(wire: WireEnvelope, where: string): Envelope {
  const branches = Object.keys(wire.sample)
  const recordName = branches[0]
  const family = recordName === undefined ? undefined : FAMILY_BY_RECORD.get(recordName)
  if (family === undefined || branches.length !== 1 || recordName === undefined) {
    throw new SchemaError(
      'INVALID_RECORD',
      `${where}: sample is not one known family (${branches.join(',')})`,
    )
  }
  const sample = { family, data: wire.sample[recordName] } as Sample
  return {
    tenant: wire.tenant,
    host_id: wire.host_id,
    hostname: wire.hostname,
    agent_id: wire.agent_id,
    seq: wire.seq,
    ts_us: wire.ts_us,
    interval_ms: wire.interval_ms,
    sample,
  }
}

function describeInvalid(type: avro.Type, value: unknown): string {
  const paths: string[] = []
  type.isValid(value, { errorHook: (path: string[]) => paths.push(path.join('.') || '(root)') })
  return paths.length > 0 ? `invalid field(s) ${paths.slice(0, 5).join(', ')}` : 'value rejected by avsc'
}

function listHistory(avroDir: string): string[] {
  try {
    return readdirSync(join(avroDir, 'history'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort()
  } catch {
    return []
  }
}

let shared: EnvelopeCodec | undefined
/** One codec per process: schemas are parsed once. */
export function envelopeCodec(): EnvelopeCodec {
  shared ??= new EnvelopeCodec()
  return shared
}
