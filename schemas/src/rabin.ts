/**
 * CRC-64-AVRO ("Rabin") fingerprint of a schema's Parsing Canonical Form, as the Avro specification
 * defines it for single-object encoding. avsc only offers md5/sha256 fingerprints, so this is the
 * spec's reference algorithm, table-driven.
 */
const EMPTY = 0xc15d213aa4d7a795n
const MASK = 0xffffffffffffffffn

const TABLE: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i)
  for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK)
  return fp
})

export function rabinFingerprint64(data: Uint8Array): bigint {
  let fp = EMPTY
  for (const byte of data) fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] ?? 0n)
  return fp
}

/** The 8 bytes that follow the 0xC3 0x01 marker in single-object encoding: little-endian. */
export function fingerprintBytes(fp: bigint): Buffer {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(fp)
  return b
}
