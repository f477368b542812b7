import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * Keys are stored as scrypt hashes (`scrypt$N$r$p$salt$hash`, base64url), so a copy of the key table
 * does not let anyone authenticate. The parameters are those OWASP recommends for scrypt at minimum
 * (N=2^14 with r=8 is about 16 MB and tens of milliseconds per check): the authenticator runs it once
 * per key and process, then caches the verdict, so it does not limit request rates.
 */
const PARAMS = { N: 16_384, r: 8, p: 1 } as const
const KEY_LENGTH = 32

function scryptAsync(secret: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: N * r * 128 bytes is needed, plus headroom; Node's 32 MB default is only just enough.
    scrypt(secret, salt, keylen, { ...options, maxmem: 64 * 1024 * 1024 }, (err, derived) => {
      if (err) reject(err)
      else resolve(derived)
    })
  })
}

export async function hashKey(key: string): Promise<string> {
  const salt = randomBytes(16)
  const hash = await scryptAsync(key, salt, KEY_LENGTH, PARAMS)
  return [
    'scrypt',
    PARAMS.N,
    PARAMS.r,
    PARAMS.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$')
}

/** Whether `key` matches `stored`; a malformed stored hash never matches. Constant-time compare. */
export async function verifyKey(key: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string]
  const expected = Buffer.from(hash, 'base64url')
  if (expected.length !== KEY_LENGTH) return false
  const derived = await scryptAsync(key, Buffer.from(salt, 'base64url'), KEY_LENGTH, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  })
  return timingSafeEqual(derived, expected)
}

/**
 * Checked against when no stored key has the presented id, so an unknown key costs the same scrypt
 * as a wrong secret for a known id: the answer's timing does not tell which ids exist.
 */
export const DECOY_HASH = [
  'scrypt',
  PARAMS.N,
  PARAMS.r,
  PARAMS.p,
  randomBytes(16).toString('base64url'),
  randomBytes(KEY_LENGTH).toString('base64url'),
].join('$')
