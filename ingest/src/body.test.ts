import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { caught } from '../../test/support/caught.ts'
import { decodeBody } from './body.ts'

// Made with `printf 'hello procstream\n' | zstd -c`.
const ZSTD_HELLO = Buffer.from('KLUv/QRYiQAAaGVsbG8gcHJvY3N0cmVhbQqEpETz', 'base64')
// 1.5 KB that expands to 50 MB of zeros: `head -c 50000000 /dev/zero | zstd -19 -c`.
const ZSTD_BOMB = readFileSync(new URL('./__fixtures__/zeros-50MB.zst', import.meta.url))

describe('decodeBody', () => {
  it('passes identity through and decompresses gzip and zstd', () => {
    const text = Buffer.from('hello procstream\n')
    expect(decodeBody(text, undefined, 1024)).toBe(text)
    expect(decodeBody(text, 'identity', 1024)).toBe(text)
    expect(decodeBody(gzipSync(text), 'gzip', 1024).toString()).toBe('hello procstream\n')
    expect(decodeBody(ZSTD_HELLO, 'zstd', 1024).toString()).toBe('hello procstream\n')
  })

  it('stops a compressed body at the decoded limit instead of inflating it', () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(100 * 1024)
    expect(caught(() => decodeBody(bomb, 'gzip', 1024 * 1024))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'the body decompresses to more than 1048576 bytes: send smaller batches',
    })
    expect(caught(() => decodeBody(ZSTD_HELLO, 'zstd', 8)).code).toBe('PAYLOAD_TOO_LARGE')
    expect(ZSTD_BOMB.length).toBeLessThan(2048)
    expect(caught(() => decodeBody(ZSTD_BOMB, 'zstd', 1024 * 1024)).code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('names a bad encoding or a corrupt body', () => {
    expect(caught(() => decodeBody(Buffer.from('x'), 'br', 1024))).toMatchObject({
      code: 'UNSUPPORTED_ENCODING',
      message: 'Content-Encoding "br" is not supported: use identity, gzip or zstd',
    })
    const gz = caught(() => decodeBody(Buffer.from('not gzip'), 'gzip', 1024))
    expect(gz.code).toBe('BAD_PAYLOAD')
    expect(gz.message).toMatch(/^the body is not valid gzip/)
    const zst = caught(() => decodeBody(Buffer.from('not zstd at all'), 'zstd', 1024))
    expect(zst.code).toBe('BAD_PAYLOAD')
    expect(zst.message).toMatch(/^the body is not valid zstd/)
  })
})
