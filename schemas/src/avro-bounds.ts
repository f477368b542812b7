import type avro from 'avsc'
import type { SchemaErrorCode } from './errors.ts'

/**
 * A bounds check of Avro binary data against its writer schema, run over a record's bytes before
 * avsc decodes them.
 *
 * Why: avsc believes what the bytes declare. An array block of 2^32−1 items in a 96-byte body made
 * it allocate until the process died; a map of 2^50 entries read past the end forever (a varint read
 * beyond the buffer yields 0, so it never runs out). This walk reads every varint, length and block
 * count of the record in the WRITER's layout (the bytes are the writer's, whatever the reader makes
 * of them) and compares each with the bytes that remain, allocating nothing, so that by the time
 * avsc runs, every count it will trust is known to be backed by bytes:
 *
 * - a varint is at most 10 bytes, fits 64 bits and is minimal (no 0x80 padding: a padded tenant
 *   length is how a 6-byte varint reached the gateway's tenant rewrite);
 * - an `int` fits 32 bits; a `long` fits ±(2^53−1), the integers a double (what every value becomes
 *   downstream) holds exactly; anything wider is refused, never rounded;
 * - a string, bytes or fixed is no longer than the bytes that remain;
 * - a block of N array items or map entries needs N × (least bytes one item takes) bytes; items of
 *   a type that takes no bytes (null, an empty record) are capped in number instead; a negative
 *   block count's byte size must be what its items take (Avro spec, "Complex Types: Arrays");
 * - a union branch or enum symbol index is in range, a boolean is 0 or 1;
 * - nesting, items and bytes per record, and items and records per payload, are capped
 *   ({@link DecodeLimits}).
 *
 * The walk does O(bytes + items) work and items are bounded by bytes, so the time is bounded by the
 * payload's size. A refusal names the field path and the byte offset.
 */

export interface DecodeLimits {
  /** Bytes of one record, single-object header included. */
  maxRecordBytes: number
  /** Array items and map entries in one record, all arrays and maps together. */
  maxRecordItems: number
  /** Of those, items of a type that takes no bytes at all (null, a record without fields). */
  maxZeroSizeItems: number
  /** Records, arrays, maps and unions inside each other. */
  maxDepth: number
  /** Records in one payload (a request body, a Kafka message). */
  maxPayloadRecords: number
  /** Array items and map entries in one payload, every record together. */
  maxPayloadItems: number
}

/**
 * Defaults, each far above what an agent sends and low enough that the decoded values of a payload
 * stay in the tens of megabytes: an agent's records are a few KiB with at most a few hundred items
 * (vmstat's ~180 fields, one cpu item per core), and it sends 64 KiB batches.
 * - 1 MiB per record: the broker's default `message.max.bytes`; a larger record could never be
 *   stored whole in one Kafka message.
 * - 65,536 items per record: a 4096-core host's cpu array, or that many filesystems, still fits.
 * - 500,000 items per payload: a 16 MiB body of vmstat records is ~1,000 records of 180 entries
 *   (180,000 items). Measured: a payload of 499,000 map entries (2,772 vmstat records, 11 MB)
 *   decodes to ~45 MB of heap in ~0.5 s of one core; short keys (60,000 per record) ~32 MB.
 */
export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxRecordBytes: 1024 * 1024,
  maxRecordItems: 65_536,
  maxZeroSizeItems: 1024,
  maxDepth: 32,
  maxPayloadRecords: 262_144,
  maxPayloadItems: 500_000,
})

/** Why a record was refused: a SchemaError code, the problem, and where (field path, byte offset). */
export class BoundsFault extends Error {
  /** Path segments innermost first, as the fault unwinds; {@link path} reverses them. */
  readonly segments: string[] = []

  constructor(
    readonly code: SchemaErrorCode,
    readonly problem: string,
  ) {
    super(problem)
    this.name = 'BoundsFault'
  }

  /** e.g. `sample(CpuSample).cpus[3].user`, or '' for the record itself. */
  get path(): string {
    let out = ''
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i] ?? ''
      out += s.startsWith('[') || s.startsWith('(') || out === '' ? s : `.${s}`
    }
    return out
  }
}

// Node kinds: small integers so the walk is one switch.
const NULL = 0
const BOOLEAN = 1
const INT = 2
const LONG = 3
const FLOAT = 4
const DOUBLE = 5
const BYTES = 6
const STRING = 7
const FIXED = 8
const ENUM = 9
const ARRAY = 10
const MAP = 11
const UNION = 12
const RECORD = 13

interface Node {
  kind: number
  /** Least bytes a value of this type takes (0 only for null, empty records, fixed of size 0). */
  min: number
  /** Short name of a named type, for paths and messages. */
  name: string
  /** FIXED: its size; ENUM: the number of symbols. */
  size: number
  /** ARRAY: items; MAP: values. */
  inner: Node | undefined
  /** UNION: the branches. */
  branches: Node[]
  /** RECORD: the fields in writer order. */
  fields: { name: string; node: Node }[]
}

const PRIMITIVES: Record<string, number> = {
  null: NULL,
  boolean: BOOLEAN,
  int: INT,
  long: LONG,
  float: FLOAT,
  double: DOUBLE,
  bytes: BYTES,
  string: STRING,
}
const PRIMITIVE_MIN = [0, 1, 1, 1, 4, 8, 1, 1]

function node(kind: number, name = ''): Node {
  return {
    kind,
    min: kind < PRIMITIVE_MIN.length ? (PRIMITIVE_MIN[kind] ?? 0) : 1,
    name,
    size: 0,
    inner: undefined,
    branches: [],
    fields: [],
  }
}

type SchemaJson = string | SchemaJson[] | { [key: string]: unknown }

/**
 * Compile a writer schema (an avsc Type; its Parsing Canonical Form is what is walked, so a custom
 * long type or logical type changes nothing) into the tree the walk follows.
 */
function compile(type: avro.Type): Node {
  const named = new Map<string, Node>()
  const build = (schema: SchemaJson, namespace: string): Node => {
    if (typeof schema === 'string') {
      const primitive = PRIMITIVES[schema]
      if (primitive !== undefined) return node(primitive)
      const ref = named.get(schema) ?? named.get(`${namespace}.${schema}`)
      if (!ref) throw new Error(`schema references undefined type ${schema}`)
      return ref
    }
    if (Array.isArray(schema)) {
      const union = node(UNION)
      union.branches = schema.map((s) => build(s, namespace))
      return union
    }
    const t = schema.type as SchemaJson
    if (typeof t !== 'string') return build(t, namespace)
    if (PRIMITIVES[t] !== undefined) return node(PRIMITIVES[t])
    const rawName = typeof schema.name === 'string' ? schema.name : ''
    const fullName = rawName.includes('.')
      ? rawName
      : typeof schema.namespace === 'string' && schema.namespace !== ''
        ? `${schema.namespace}.${rawName}`
        : namespace !== ''
          ? `${namespace}.${rawName}`
          : rawName
    const ns = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : ''
    const shortName = fullName.slice(fullName.lastIndexOf('.') + 1)
    switch (t) {
      case 'fixed': {
        const n = node(FIXED, shortName)
        n.size = Number(schema.size)
        n.min = n.size
        named.set(fullName, n)
        return n
      }
      case 'enum': {
        const n = node(ENUM, shortName)
        n.size = Array.isArray(schema.symbols) ? schema.symbols.length : 0
        named.set(fullName, n)
        return n
      }
      case 'array':
      case 'map': {
        const n = node(t === 'array' ? ARRAY : MAP)
        n.inner = build((t === 'array' ? schema.items : schema.values) as SchemaJson, namespace)
        return n
      }
      case 'record':
      case 'error': {
        const n = node(RECORD, shortName)
        named.set(fullName, n) // before the fields: a field may refer to the record itself
        const fields = Array.isArray(schema.fields)
          ? (schema.fields as { name: string; type: SchemaJson }[])
          : []
        n.fields = fields.map((f) => ({ name: f.name, node: build(f.type, ns) }))
        return n
      }
      default:
        throw new Error(`unknown Avro type ${t}`)
    }
  }
  const root = build(type.schema() as SchemaJson, '')
  computeMin(root, new Set())
  return root
}

/** A record's least size is its fields' sum; a record met again on the way (recursion) counts 0. */
function computeMin(n: Node, visiting: Set<Node>): number {
  if (n.kind !== RECORD) {
    if (n.inner && !visiting.has(n.inner)) computeMin(n.inner, visiting)
    for (const b of n.branches) if (!visiting.has(b)) computeMin(b, visiting)
    return n.min
  }
  if (visiting.has(n)) return 0
  visiting.add(n)
  let sum = 0
  for (const f of n.fields) sum += computeMin(f.node, visiting)
  visiting.delete(n)
  n.min = sum
  return sum
}

/** What a walk of one record found: where it ends, and the items it holds. */
export interface BoundsResult {
  end: number
  items: number
  /**
   * A long beyond [−2^52, 2^52−1] was seen: avsc's own long reader rounds such values (its float
   * sum of the zigzag loses the sign bit past 2^53), so this record must be read with the exact long
   * (exact-long.ts). Below that, avsc is exact and ~2× faster, so an agent's records (timestamps
   * ~2^51) never pay for exactness they do not need.
   */
  wide: boolean
}

/**
 * The bounds check of one writer schema. `check` walks one record's body from `start`; `bufEnd` is
 * where the payload ends and `recordEnd` where the record must end at the latest (start + what the
 * per-record byte cap leaves); `payloadItemsLeft` what the payload's item cap leaves.
 */
export class BoundsCheck {
  private readonly root: Node
  private buf: Uint8Array = new Uint8Array(0)
  private pos = 0
  private end = 0
  private bufEnd = 0
  private items = 0
  private zeroItems = 0
  private depth = 0
  private itemsLeft = 0
  private wide = false

  constructor(
    writer: avro.Type,
    private readonly limits: DecodeLimits,
  ) {
    this.root = compile(writer)
  }

  check(buf: Uint8Array, start: number, recordEnd: number, payloadItemsLeft: number): BoundsResult {
    this.buf = buf
    this.pos = start
    this.bufEnd = buf.length
    this.end = Math.min(recordEnd, buf.length)
    this.items = 0
    this.zeroItems = 0
    this.depth = 0
    this.itemsLeft = payloadItemsLeft
    this.wide = false
    try {
      this.value(this.root)
      return { end: this.pos, items: this.items, wide: this.wide }
    } finally {
      this.buf = new Uint8Array(0) // hold no payload between calls
    }
  }

  private value(n: Node): void {
    switch (n.kind) {
      case NULL:
        return
      case BOOLEAN: {
        this.need(1, 'a boolean')
        const b = this.buf[this.pos] ?? 0
        if (b > 1) throw new BoundsFault('INVALID_RECORD', `boolean at byte ${this.pos} is ${b}, not 0 or 1`)
        this.pos++
        return
      }
      case INT: {
        const at = this.pos
        const v = this.varint()
        if (v < -2147483648 || v > 2147483647)
          throw new BoundsFault(
            'OUT_OF_RANGE',
            `int at byte ${at} is ${this.exact(at)}, beyond 32 bits (an int is −2^31 … 2^31−1)`,
          )
        return
      }
      case LONG: {
        const at = this.pos
        const v = this.varint()
        if (!Number.isSafeInteger(v))
          throw new BoundsFault(
            'OUT_OF_RANGE',
            `long at byte ${at} is ${this.exact(at)}, beyond ±(2^53−1): values are stored as doubles and this one would change`,
          )
        if (v > 4503599627370495 || v < -4503599627370496) this.wide = true
        return
      }
      case FLOAT:
        this.need(4, 'a float')
        this.pos += 4
        return
      case DOUBLE:
        this.need(8, 'a double')
        this.pos += 8
        return
      case BYTES:
      case STRING:
        this.lengthPrefixed(n.kind === STRING ? 'string' : 'bytes')
        return
      case FIXED:
        this.need(n.size, `fixed ${n.name} of ${n.size} bytes`)
        this.pos += n.size
        return
      case ENUM: {
        const at = this.pos
        const i = this.varint()
        if (i < 0 || i >= n.size)
          throw new BoundsFault(
            'INVALID_RECORD',
            `enum ${n.name} at byte ${at} has symbol index ${this.exact(at)}, not 0…${n.size - 1}`,
          )
        return
      }
      case ARRAY:
      case MAP:
        this.enter()
        this.blocks(n)
        this.depth--
        return
      case UNION: {
        this.enter()
        const at = this.pos
        const i = this.varint()
        const branch = i >= 0 ? n.branches[i] : undefined
        if (!branch)
          throw new BoundsFault(
            'INVALID_RECORD',
            `union branch index at byte ${at} is ${this.exact(at)}, not 0…${n.branches.length - 1}`,
          )
        try {
          this.value(branch)
        } catch (err) {
          if (err instanceof BoundsFault && branch.name !== '') err.segments.push(`(${branch.name})`)
          throw err
        }
        this.depth--
        return
      }
      case RECORD: {
        this.enter()
        for (const f of n.fields) {
          try {
            this.value(f.node)
          } catch (err) {
            if (err instanceof BoundsFault) err.segments.push(f.name)
            throw err
          }
        }
        this.depth--
        return
      }
      default:
        throw new Error(`unknown node kind ${n.kind}`)
    }
  }

  private enter(): void {
    if (++this.depth > this.limits.maxDepth)
      throw new BoundsFault(
        'RECORD_LIMIT',
        `nested more than ${this.limits.maxDepth} levels deep at byte ${this.pos}`,
      )
  }

  /** Array or map blocks: count (negative: count and byte size), items, … until a count of 0. */
  private blocks(n: Node): void {
    const item = n.inner as Node
    const isMap = n.kind === MAP
    const what = isMap ? 'map' : 'array'
    // A map entry is its key (a string, at least 1 byte) and its value.
    const perItem = isMap ? 1 + item.min : item.min
    let index = 0
    for (;;) {
      const at = this.pos
      let count = this.varint()
      if (count === 0) return
      let size = -1
      if (count < 0) {
        // Spec: a negative count is followed by the block's size in bytes (so readers can skip it).
        count = -count
        const sizeAt = this.pos
        size = this.varint()
        if (size < 0 || !Number.isSafeInteger(size))
          throw new BoundsFault(
            'INVALID_RECORD',
            `${what} block at byte ${at} has byte size ${this.exact(sizeAt)}`,
          )
        this.need(size, `a ${what} block of ${size} bytes`)
      }
      const remaining = this.end - this.pos
      if (perItem > 0) {
        // Compared by division: count may be up to 2^63 and count × perItem need not be exact.
        if (!Number.isSafeInteger(count) || count > remaining / perItem) {
          const declared = this.exact(at)
          const items = declared.startsWith('-') ? declared.slice(1) : declared
          if (this.end < this.bufEnd && count <= (this.bufEnd - this.pos) / perItem)
            throw this.recordTooLong()
          throw new BoundsFault(
            'TRUNCATED',
            `${what} block at byte ${at} declares ${items} ${isMap ? 'entries' : 'items'} but ${remaining} bytes remain` +
              (perItem > 1 ? ` (each takes at least ${perItem})` : ''),
          )
        }
      } else if (!Number.isSafeInteger(count) || this.zeroItems + count > this.limits.maxZeroSizeItems) {
        throw new BoundsFault(
          'RECORD_LIMIT',
          `${what} block at byte ${at} declares ${this.exact(at).replace('-', '')} items of a type that takes no bytes; at most ${this.limits.maxZeroSizeItems} per record`,
        )
      } else {
        this.zeroItems += count
      }
      if (this.items + count > this.limits.maxRecordItems)
        throw new BoundsFault(
          'RECORD_LIMIT',
          `${what} block at byte ${at} brings the record to ${this.items + count} array items and map entries; at most ${this.limits.maxRecordItems}`,
        )
      if (count > this.itemsLeft)
        throw new BoundsFault(
          'PAYLOAD_LIMIT',
          `${what} block at byte ${at} brings the payload over ${this.limits.maxPayloadItems} array items and map entries`,
        )
      this.items += count
      this.itemsLeft -= count
      const blockStart = this.pos
      for (let i = 0; i < count; i++, index++) {
        const keyAt = this.pos
        try {
          if (isMap) this.lengthPrefixed('map key')
          this.value(item)
        } catch (err) {
          if (err instanceof BoundsFault) err.segments.push(isMap ? this.keySegment(keyAt) : `[${index}]`)
          throw err
        }
      }
      if (size >= 0 && this.pos - blockStart !== size)
        throw new BoundsFault(
          'INVALID_RECORD',
          `${what} block at byte ${at} declares ${size} bytes but its items take ${this.pos - blockStart}`,
        )
    }
  }

  private lengthPrefixed(what: string): void {
    const at = this.pos
    const length = this.varint()
    if (length < 0)
      throw new BoundsFault('INVALID_RECORD', `${what} at byte ${at} has a negative length ${this.exact(at)}`)
    if (!Number.isSafeInteger(length) || length > this.end - this.pos) {
      if (this.end < this.bufEnd && length <= this.bufEnd - this.pos) throw this.recordTooLong()
      throw new BoundsFault(
        'TRUNCATED',
        `${what} at byte ${at} declares ${this.exact(at)} bytes but ${this.end - this.pos} remain`,
      )
    }
    this.pos += length
  }

  /** `["key"]` of the map entry at keyAt, read only when a fault needs it (and short). */
  private keySegment(keyAt: number): string {
    const saved = this.pos
    try {
      this.pos = keyAt
      const length = this.varint()
      const key = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, Math.min(length, 64)).toString(
        'utf8',
      )
      return `[${JSON.stringify(key)}${length > 64 ? '…' : ''}]`
    } catch {
      return '[?]'
    } finally {
      this.pos = saved
    }
  }

  private need(bytes: number, what: string): void {
    if (bytes <= this.end - this.pos) return
    if (this.end < this.bufEnd && bytes <= this.bufEnd - this.pos) throw this.recordTooLong()
    throw new BoundsFault(
      'TRUNCATED',
      `${what} at byte ${this.pos} is truncated: it needs ${bytes} bytes but ${this.end - this.pos} remain`,
    )
  }

  private recordTooLong(): BoundsFault {
    return new BoundsFault('RECORD_LIMIT', `the record is longer than ${this.limits.maxRecordBytes} bytes`)
  }

  /**
   * The zigzag varint at pos, exactly when it is a safe integer (an unsafe one comes back as an
   * unsafe number, never a safe one); refuses one that runs out of bytes, is longer than 10 bytes,
   * goes beyond 64 bits or is not minimal.
   */
  private varint(): number {
    const buf = this.buf
    const start = this.pos
    const end = this.end
    if (start >= end) this.varintShort(start)
    let b = buf[start] ?? 0
    if (b < 0x80) {
      this.pos = start + 1
      return (b >>> 1) ^ -(b & 1)
    }
    let pos = start + 1
    let lo = b & 0x7f
    for (let shift = 7; shift < 28 && b >= 0x80; shift += 7) {
      if (pos >= end) this.varintShort(start)
      b = buf[pos++] ?? 0
      lo |= (b & 0x7f) << shift
    }
    let hi = 0
    let mul = 1
    while (b >= 0x80) {
      if (pos - start >= 10)
        throw new BoundsFault('INVALID_RECORD', `varint at byte ${start} is longer than 10 bytes`)
      if (pos >= end) this.varintShort(start)
      b = buf[pos++] ?? 0
      hi += (b & 0x7f) * mul
      mul *= 128
    }
    if (pos - start === 10 && b > 1)
      throw new BoundsFault('INVALID_RECORD', `varint at byte ${start} is beyond 64 bits`)
    if (b === 0)
      throw new BoundsFault(
        'INVALID_RECORD',
        `varint at byte ${start} is overlong: ${pos - start} bytes padded with zero groups where fewer hold its value`,
      )
    this.pos = pos
    const magnitude = hi * 134217728 + (lo >>> 1)
    return lo & 1 ? -magnitude - 1 : magnitude
  }

  private varintShort(start: number): never {
    if (this.end < this.bufEnd) throw this.recordTooLong()
    throw new BoundsFault(
      'TRUNCATED',
      `varint at byte ${start} is truncated: the payload ends at byte ${this.bufEnd}`,
    )
  }

  /** The varint at `at` as an exact decimal (BigInt: only on the way to an error message). */
  private exact(at: number): string {
    let z = 0n
    let shift = 0n
    for (let pos = at; pos < this.bufEnd && pos - at < 10; pos++) {
      const b = this.buf[pos] ?? 0
      z |= BigInt(b & 0x7f) << shift
      shift += 7n
      if (b < 0x80) break
    }
    return String(z & 1n ? -(z >> 1n) - 1n : z >> 1n)
  }
}
