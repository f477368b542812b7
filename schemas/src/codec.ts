import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import avro from 'avsc'
import { SchemaError } from './errors.ts'
import { FAMILY_RECORD, type Envelope, type Family, type Sample } from './families.ts'
import { fingerprintBytes, rabinFingerprint64 } from './rabin.ts'

/**
 * Avro single-object encoding of envelopes (0xC3 0x01, 8-byte CRC-64-AVRO fingerprint, body).
 * A payload (Kafka message value, ingest body) is one or more such objects back to back.
 *
 * Reading resolves the writer's schema, found by its fingerprint among every schema this build
 * knows (the current ones in schemas/avro plus older versions kept in schemas/avro/history), to the
 * current reader schema, so agents of an older release keep working after a schema evolves.
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
function loadEnvelopeType(dir: string): avro.Type {
  const registry: Record<string, avro.Type> = {}
  for (const file of RECORD_FILES) {
    if (!existsSync(join(dir, file))) continue
    avro.Type.forSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')) as avro.Schema, {
      registry,
      wrapUnions: 'auto',
    })
  }
  return avro.Type.forSchema(JSON.parse(readFileSync(join(dir, 'envelope.avsc'), 'utf8')) as avro.Schema, {
    registry,
    wrapUnions: 'auto',
  })
}

export function schemaFingerprint(type: avro.Type): Buffer {
  // type.schema() without exportAttrs is the Parsing Canonical Form the spec fingerprints.
  return fingerprintBytes(rabinFingerprint64(Buffer.from(JSON.stringify(type.schema()), 'utf8')))
}

export class EnvelopeCodec {
  readonly readerType: avro.Type
  readonly fingerprint: Buffer
  private readonly header: Buffer
  private readonly writers = new Map<string, { type: avro.Type; resolver: avro.Resolver | undefined }>()

  constructor(avroDir: string = AVRO_DIR) {
    this.readerType = loadEnvelopeType(avroDir)
    this.fingerprint = schemaFingerprint(this.readerType)
    this.header = Buffer.concat([Buffer.from([MAGIC_0, MAGIC_1]), this.fingerprint])
    this.writers.set(this.fingerprint.toString('hex'), { type: this.readerType, resolver: undefined })
    for (const version of listHistory(avroDir))
      this.addWriterSchema(loadEnvelopeType(join(avroDir, 'history', version)))
  }

  /** Teach the codec an older (or newer) writer schema; its records are resolved to the reader's. */
  addWriterSchema(type: avro.Type): string {
    const fp = schemaFingerprint(type).toString('hex')
    if (!this.writers.has(fp)) this.writers.set(fp, { type, resolver: this.readerType.createResolver(type) })
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
    let pos = 0
    while (pos < buf.length) {
      const { envelope, next, current } = this.decodeAt(buf, pos)
      out.push({ envelope, bytes: buf.subarray(pos, next), current })
      pos = next
    }
    return out
  }

  private decodeAt(buf: Buffer, pos: number): { envelope: Envelope; next: number; current: boolean } {
    if (buf.length - pos < HEADER_BYTES) {
      throw new SchemaError(
        'TRUNCATED',
        `record at byte ${pos}: ${buf.length - pos} bytes left, too short for a single-object header`,
      )
    }
    if (buf[pos] !== MAGIC_0 || buf[pos + 1] !== MAGIC_1) {
      throw new SchemaError(
        'NOT_SINGLE_OBJECT',
        `record at byte ${pos}: expected Avro single-object marker c301, found ${buf.subarray(pos, pos + 2).toString('hex')}`,
      )
    }
    const fp = buf.subarray(pos + 2, pos + HEADER_BYTES).toString('hex')
    const writer = this.writers.get(fp)
    if (!writer) {
      throw new SchemaError('UNKNOWN_FINGERPRINT', `record at byte ${pos}: unknown schema fingerprint ${fp}`)
    }
    let decoded: { value: unknown; offset: number }
    try {
      decoded = this.readerType.decode(buf, pos + HEADER_BYTES, writer.resolver)
    } catch (err) {
      throw new SchemaError('INVALID_RECORD', `record at byte ${pos}: body does not decode: ${String(err)}`, {
        cause: err,
      })
    }
    // avsc signals "needs more bytes" with a negative offset instead of throwing.
    if (decoded.offset < 0) throw new SchemaError('TRUNCATED', `record at byte ${pos}: body is truncated`)
    return {
      envelope: fromWire(decoded.value as WireEnvelope, pos),
      next: decoded.offset,
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
  let pos = HEADER_BYTES
  let zigzag = 0
  let shift = 0
  for (;;) {
    const b = record[pos++]
    if (b === undefined || shift > 28)
      throw new SchemaError('INVALID_RECORD', 'tenant length is not a varint')
    zigzag |= (b & 0x7f) << shift
    if ((b & 0x80) === 0) break
    shift += 7
  }
  const oldLength = (zigzag >>> 1) ^ -(zigzag & 1)
  const rest = pos + oldLength
  const name = Buffer.from(tenant, 'utf8')
  const length: number[] = []
  for (let v = name.length * 2; ; v >>>= 7) {
    if (v < 0x80) {
      length.push(v)
      break
    }
    length.push((v & 0x7f) | 0x80)
  }
  return Buffer.concat([record.subarray(0, HEADER_BYTES), Buffer.from(length), name, record.subarray(rest)])
}

function fromWire(wire: WireEnvelope, pos: number): Envelope {
  const branches = Object.keys(wire.sample)
  const recordName = branches[0]
  const family = recordName === undefined ? undefined : FAMILY_BY_RECORD.get(recordName)
  if (family === undefined || branches.length !== 1 || recordName === undefined) {
    throw new SchemaError(
      'INVALID_RECORD',
      `record at byte ${pos}: sample is not one known family (${branches.join(',')})`,
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
