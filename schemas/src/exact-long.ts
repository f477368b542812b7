import avro from 'avsc'

/**
 * An Avro `long` that decodes every value in ±(2^53−1) exactly, for the codec's decoding side.
 *
 * Why: avsc's own long reader sums the varint's 7-bit groups in floating point once it passes 28
 * bits, so a zigzag value above 2^53 is rounded before its sign bit is read: −4503599627370497 came
 * back as 4503599627370496 and −(2^53−1) as 2^53−2, and +(2^53−1) is refused as "potential precision
 * loss". Here the low 28 bits (which hold the sign) are kept as an integer and only the high bits go
 * through a float, so every safe integer comes back as it was written. Values beyond ±(2^53−1) are
 * refused by the bounds check (avro-bounds.ts) before this runs; should one reach it anyway it
 * throws rather than return a different number.
 *
 * `noUnpack`: avsc hands `fromBuffer` the varint's own bytes, not an 8-byte two's-complement copy.
 */
export const exactLongType: avro.Type = avro.types.LongType.__with(
  {
    fromBuffer: (buf: Buffer): number => {
      const n = readExactVarint(buf, 0, buf.length)
      if (n === undefined) throw new Error('long beyond ±(2^53−1) cannot be read exactly')
      return n
    },
    toBuffer: (n: number): Buffer => writeExactVarint(n),
    fromJSON: (json: unknown): number => Number(json),
    toJSON: (n: number): number => n,
    isValid: (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n),
    compare: (a: number, b: number): number => (a === b ? 0 : a < b ? -1 : 1),
  },
  true,
)

/**
 * The zigzag varint in buf[start, end) as a number, or undefined when it is not one varint or its
 * value is not a safe integer. Exact: bits 0–27 are integer arithmetic, the rest a float that stays
 * exact because it is scaled by a power of two and added to fewer than 27 bits.
 */
export function readExactVarint(buf: Uint8Array, start: number, end: number): number | undefined {
  let lo = 0
  let hi = 0
  let mul = 1
  let pos = start
  let b = 0x80
  for (let shift = 0; pos < end && shift < 28 && b & 0x80; shift += 7) {
    b = buf[pos++] ?? 0
    lo |= (b & 0x7f) << shift
  }
  while (pos < end && b & 0x80) {
    b = buf[pos++] ?? 0
    hi += (b & 0x7f) * mul
    mul *= 128
  }
  if (b & 0x80 || pos !== end) return undefined
  // zigzag: value = (z >>> 1) ^ -(z & 1), with z = hi * 2^28 + lo; the sign is lo's lowest bit.
  const magnitude = hi * 134217728 + (lo >>> 1)
  const value = lo & 1 ? -magnitude - 1 : magnitude
  return Number.isSafeInteger(value) ? value : undefined
}

/** The zigzag varint of a safe integer, exactly (avsc's writer rounds 2m+1 beyond 2^53 too). */
export function writeExactVarint(n: number): Buffer {
  if (!Number.isSafeInteger(n)) throw new Error(`${String(n)} is not a long this codec writes exactly`)
  const negative = n < 0
  // z = 2m + s with m = |n| for n ≥ 0 and −n−1 otherwise: the first byte holds m's low 6 bits and
  // the sign, every later byte 7 bits of m / 64, so nothing is ever computed beyond m itself.
  const m = negative ? -n - 1 : n
  const out: number[] = []
  let byte = ((m % 64) << 1) | (negative ? 1 : 0)
  let rest = Math.floor(m / 64)
  while (rest > 0) {
    out.push(byte | 0x80)
    byte = rest % 128
    rest = Math.floor(rest / 128)
  }
  out.push(byte)
  return Buffer.from(out)
}
