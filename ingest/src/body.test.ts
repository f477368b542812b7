import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { IngestError } from './errors.ts'
import { decodeBody, scanZstd, ZSTD_MAX_WINDOW_BYTES } from './body.ts'

// Made with `printf 'hello procstream\n' | zstd -c`.
const ZSTD_HELLO = Buffer.from('KLUv/QRYiQAAaGVsbG8gcHJvY3N0cmVhbQqEpETz', 'base64')
// 1.5 KB that expands to 50 MB of zeros: `head -c 50000000 /dev/zero | zstd -19 -c`.
const ZSTD_BOMB = readFileSync(new URL('./__fixtures__/zeros-50MB.zst', import.meta.url))
const MiB = 1024 * 1024

async function refusal(promise: Promise<unknown>): Promise<IngestError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof IngestError) return err
    throw err
  }
  throw new Error('expected an IngestError, the body was accepted')
}

/** A zstd RLE block: `size` copies of one byte, in 4 bytes. */
function rleBlock(size: number, last: boolean): Buffer {
  const h = (size << 3) | (1 << 1) | (last ? 1 : 0)
  return Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x61])
}
/** A zstd frame without content size whose window descriptor is `wd` (exponent << 3 | mantissa). */
function frame(wd: number, blocks: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, wd]), ...blocks])
}
const blocks = (n: number, size: number): Buffer[] =>
  Array.from({ length: n }, (_, i) => rleBlock(size, i === n - 1))

/**
 * Runs the decode while a 5 ms interval ticks, and reports the longest gap between ticks (how long
 * the event loop was held) and how far RSS and array buffers grew.
 */
async function measured(
  run: () => Promise<unknown>,
): Promise<{ outcome: unknown; maxGapMs: number; grewMB: number }> {
  const before = process.memoryUsage()
  let peak = before.rss + before.arrayBuffers
  let last = performance.now()
  let maxGapMs = 0
  const tick = setInterval(() => {
    const now = performance.now()
    maxGapMs = Math.max(maxGapMs, now - last)
    last = now
    const m = process.memoryUsage()
    peak = Math.max(peak, m.rss + m.arrayBuffers)
  }, 5)
  let outcome: unknown
  try {
    outcome = await run()
  } catch (err) {
    outcome = err
  }
  maxGapMs = Math.max(maxGapMs, performance.now() - last)
  clearInterval(tick)
  const m = process.memoryUsage()
  peak = Math.max(peak, m.rss + m.arrayBuffers)
  return { outcome, maxGapMs, grewMB: (peak - before.rss - before.arrayBuffers) / MiB }
}

describe('decodeBody', () => {
  it('passes identity through and decompresses gzip and zstd', async () => {
    const text = Buffer.from('hello procstream\n')
    expect(await decodeBody(text, undefined, 1024)).toBe(text)
    expect(await decodeBody(text, 'identity', 1024)).toBe(text)
    expect((await decodeBody(gzipSync(text), 'gzip', 1024)).toString()).toBe('hello procstream\n')
    expect((await decodeBody(ZSTD_HELLO, 'zstd', 1024)).toString()).toBe('hello procstream\n')
    // Several frames, a skippable frame and a checksum, as zstd writes them.
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3])
    const twice = Buffer.concat([ZSTD_HELLO, skippable, ZSTD_HELLO])
    expect((await decodeBody(twice, 'zstd', 1024)).toString()).toBe('hello procstream\n'.repeat(2))
  })

  it('decompresses what the zstd tool writes at its highest non-ultra level, streamed or not', async () => {
    const input = Buffer.alloc(3 * MiB)
    for (let i = 0; i < input.length; i++) input[i] = (i * 7 + (i >> 12)) & 0xff
    for (const args of [['-19'], ['-3', '--no-content-size'], ['-1', '--check']]) {
      const zst = execFileSync('zstd', ['-c', '-q', ...args], { input, maxBuffer: 64 * MiB })
      expect((await decodeBody(zst, 'zstd', 16 * MiB)).equals(input), args.join(' ')).toBe(true)
    }
  })

  it('stops a compressed body at the decoded limit instead of inflating it', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * MiB))
    expect(bomb.length).toBeLessThan(100 * 1024)
    expect(await refusal(decodeBody(bomb, 'gzip', MiB))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'the body decompresses to more than 1048576 bytes: send smaller batches',
    })
    expect((await refusal(decodeBody(ZSTD_HELLO, 'zstd', 8))).code).toBe('PAYLOAD_TOO_LARGE')
    expect(ZSTD_BOMB.length).toBeLessThan(2048)
    // Its blocks are RLE blocks of zeros: refused from their headers, before any decoding.
    const fixture = await measured(() => decodeBody(ZSTD_BOMB, 'zstd', MiB))
    expect(fixture.outcome).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'the body decompresses to more than 1048576 bytes: send smaller batches',
    })
    expect(fixture.grewMB).toBeLessThan(16)
    // A frame whose header declares its content size (4 bytes, 50,000,000) is refused from that.
    const declared = Buffer.concat([
      Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x58, 0x80, 0xf0, 0xfa, 0x02]),
      rleBlock(1, true),
    ])
    expect(await refusal(decodeBody(declared, 'zstd', MiB))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message:
        'zstd frame at byte 0 declares 50000000 bytes of content, more than the 1048576 a body may decompress to: send smaller batches',
    })
  })

  it('refuses a 38-byte zstd frame declaring a 1.875 GiB window from its header, allocating nothing', async () => {
    const bomb = frame((20 << 3) | 7, blocks(8, 128 * 1024))
    expect(bomb.length).toBe(38)
    const { outcome, maxGapMs, grewMB } = await measured(() => decodeBody(bomb, 'zstd', 16 * MiB))
    expect(outcome).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message:
        'zstd frame at byte 0 declares a 1.875 GiB window; at most 8 MiB is accepted (zstd levels 1–19 stay within it; do not use --ultra or --long)',
    })
    expect(grewMB).toBeLessThan(64)
    expect(maxGapMs).toBeLessThan(100)
    // The largest window accepted, and one step above it.
    expect(scanZstd(frame(13 << 3, blocks(1, 1)), 16 * MiB)).toHaveLength(1)
    expect(() => scanZstd(frame((13 << 3) | 1, blocks(1, 1)), 16 * MiB)).toThrow(/declares a 9 MiB window/)
    expect(ZSTD_MAX_WINDOW_BYTES).toBe(8 * MiB)
  })

  it('bounds a 64 KB zstd frame of 16,000 blocks by its window work and its output', async () => {
    // 1-byte blocks under an 8 MiB window: fzstd would copy the window 16,000 times (128 GiB).
    const copies = frame(13 << 3, blocks(16_000, 1))
    expect(copies.length).toBe(64_006)
    const slow = await measured(() => decodeBody(copies, 'zstd', 16 * MiB))
    expect(slow.outcome).toBeInstanceOf(IngestError)
    expect((slow.outcome as IngestError).code).toBe('PAYLOAD_TOO_LARGE')
    expect((slow.outcome as IngestError).message).toMatch(
      /^zstd body needs more than 2\.000 GiB of window copies to decompress \(frame at byte 0, 8 MiB window, block at byte \d+\)/,
    )
    expect(slow.maxGapMs).toBeLessThan(100)
    expect(slow.grewMB).toBeLessThan(64)
    // 128 KiB blocks: 2 GiB of output, refused from the block headers.
    const wide = await measured(() =>
      decodeBody(frame(13 << 3, blocks(16_000, 128 * 1024)), 'zstd', 16 * MiB),
    )
    expect(wide.outcome).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: /decompresses to more than 16777216/,
    })
    expect(wide.maxGapMs).toBeLessThan(100)
    expect(wide.grewMB).toBeLessThan(64)
    // Within the budget, many blocks decode, the event loop getting its turns between them.
    const ok = await measured(() => decodeBody(frame(13 << 3, blocks(200, 1)), 'zstd', 16 * MiB))
    expect((ok.outcome as Buffer).toString()).toBe('a'.repeat(200))
    expect(ok.maxGapMs).toBeLessThan(100)
  })

  it('keeps the event loop turning while a large body decompresses, and memory near the output size', async () => {
    const input = Buffer.alloc(16 * MiB - 1024)
    for (let i = 0; i < input.length; i++) input[i] = (i * 7 + (i >> 10)) & 0xff
    const zst = execFileSync('zstd', ['-c', '-q', '-3', '--no-content-size'], { input, maxBuffer: 64 * MiB })
    const z = await measured(() => decodeBody(zst, 'zstd', 16 * MiB))
    expect((z.outcome as Buffer).length).toBe(input.length)
    // Synchronous, this body held the loop ~200 ms; sliced per block it gives it back every few ms.
    expect(z.maxGapMs).toBeLessThan(150)
    expect(z.grewMB).toBeLessThan(16 + 8 + 64)
    const gzBomb = gzipSync(Buffer.alloc(1024 * MiB))
    expect(gzBomb.length).toBeLessThan(1.1 * MiB)
    const gz = await measured(() => decodeBody(gzBomb, 'gzip', 16 * MiB))
    expect(gz.outcome).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
    expect(gz.maxGapMs).toBeLessThan(100)
    expect(gz.grewMB).toBeLessThan(64)
  }, 60_000)

  it('names a bad encoding or a corrupt body', async () => {
    expect(await refusal(decodeBody(Buffer.from('x'), 'br', 1024))).toMatchObject({
      code: 'UNSUPPORTED_ENCODING',
      message: 'Content-Encoding "br" is not supported: use identity, gzip or zstd',
    })
    const gz = await refusal(decodeBody(Buffer.from('not gzip'), 'gzip', 1024))
    expect(gz.code).toBe('BAD_PAYLOAD')
    expect(gz.message).toMatch(/^the body is not valid gzip/)
    const zst = await refusal(decodeBody(Buffer.from('not zstd at all'), 'zstd', 1024))
    expect(zst.code).toBe('BAD_PAYLOAD')
    expect(zst.message).toMatch(/^the body is not valid zstd: no zstd frame at byte 0/)
    expect((await refusal(decodeBody(ZSTD_HELLO.subarray(0, 20), 'zstd', 1024))).message).toMatch(/truncated/)
    const reserved = Buffer.from(ZSTD_HELLO)
    reserved[4] = (reserved[4] ?? 0) | 0x08
    expect((await refusal(decodeBody(reserved, 'zstd', 1024))).message).toMatch(/reserved header bit/)
    const dict = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x58, 7]), rleBlock(1, true)])
    expect((await refusal(decodeBody(dict, 'zstd', 1024))).message).toMatch(/needs dictionary 7/)
  })

  it('answers every one-byte change of a zstd body with its bytes or a BAD_PAYLOAD/PAYLOAD_TOO_LARGE, quickly', async () => {
    const input = Buffer.from('procstream '.repeat(2000))
    const zst = execFileSync('zstd', ['-c', '-q', '-19', '--check'], { input })
    const started = performance.now()
    for (let pos = 0; pos < zst.length; pos++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const mutated = Buffer.from(zst)
        mutated[pos] = (mutated[pos] ?? 0) ^ mask
        const t = performance.now()
        try {
          const out = await decodeBody(mutated, 'zstd', 64 * 1024)
          expect(out.length).toBeLessThanOrEqual(64 * 1024)
        } catch (err) {
          expect(err, `byte ${String(pos)} ^ ${String(mask)}`).toBeInstanceOf(IngestError)
          expect(['BAD_PAYLOAD', 'PAYLOAD_TOO_LARGE']).toContain((err as IngestError).code)
        }
        expect(performance.now() - t).toBeLessThan(250)
      }
    }
    expect(performance.now() - started).toBeLessThan(20_000)
  }, 30_000)
})
