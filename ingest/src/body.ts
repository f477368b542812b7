import { createGunzip } from 'node:zlib'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Decompress } from 'fzstd'
import { IngestError } from './errors.ts'

/** Content types the gateway reads as Avro single-object records back to back. */
export const AVRO_CONTENT_TYPES = ['application/vnd.procstream.avro', 'avro/binary'] as const

/**
 * The largest zstd window accepted. fzstd allocates the window a frame declares before it decodes a
 * byte (a 38-byte frame declaring 1.875 GiB took 1.8 GiB of memory), so a frame declaring more is
 * refused from its header. zstd's levels 1–19 use at most 8 MiB (windowLog 23); only `--ultra`
 * levels and `--long` need more.
 */
export const ZSTD_MAX_WINDOW_BYTES = 8 * 1024 * 1024

/**
 * The most window bytes fzstd may move for one body. Its streaming decoder copies the whole window
 * once per block (and zeroes a new one per frame), so the work is blocks × window, not output: a
 * 64 KB frame of 16,000 empty blocks with a large window hung the process. 2 GiB is ~0.1 s of one
 * core (memmove measured at ~20 GB/s on the reference machine); a legitimate 16 MiB body compressed
 * at level 19 (8 MiB window, 128 blocks of 128 KiB) needs ~1 GiB.
 */
export const ZSTD_MAX_WINDOW_WORK_BYTES = 2 * 1024 * 1024 * 1024

/**
 * Decompression hands the event loop back after about a millisecond of work: this many window bytes
 * moved (~20 GB/s), or this much output decoded (fzstd decodes ~50 MB/s on the reference machine).
 */
const YIELD_AFTER_WINDOW_BYTES = 16 * 1024 * 1024
const YIELD_AFTER_OUTPUT_BYTES = 64 * 1024

const BLOCK_MAX_BYTES = 128 * 1024

/**
 * The request body as Avro bytes. Decompression is streamed and bounded: the output is counted as it
 * is produced and stopped past `maxDecodedBytes` (a small body cannot become gigabytes), a zstd body's
 * frame headers are read first and refused when they declare more than the limits allow, and the
 * work is done off the event loop (gzip: zlib's thread pool) or in slices that yield to it (zstd), so
 * one request cannot stall the others. Memory per request: the output (≤ maxDecodedBytes) plus, for
 * zstd, one window (≤ ZSTD_MAX_WINDOW_BYTES).
 */
export async function decodeBody(
  body: Buffer,
  contentEncoding: string | undefined,
  maxDecodedBytes: number,
): Promise<Buffer> {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase()
  switch (encoding) {
    case '':
    case 'identity':
      return body
    case 'gzip':
    case 'x-gzip':
      return gunzip(body, maxDecodedBytes)
    case 'zstd':
      return unzstd(body, maxDecodedBytes)
    default:
      throw new IngestError(
        'UNSUPPORTED_ENCODING',
        `Content-Encoding ${JSON.stringify(contentEncoding)} is not supported: use identity, gzip or zstd`,
      )
  }
}

function tooLarge(maxDecodedBytes: number): IngestError {
  return new IngestError(
    'PAYLOAD_TOO_LARGE',
    `the body decompresses to more than ${String(maxDecodedBytes)} bytes: send smaller batches`,
  )
}

/** zlib's streaming inflate on the thread pool, destroyed as soon as the output passes the limit. */
function gunzip(body: Buffer, maxDecodedBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // 128 KiB output chunks: zlib's default 16 KiB makes a 16 MiB body ~1,000 thread-pool round
    // trips (measured 178 ms against 43 ms for gunzipSync); 128 KiB brings it back near the latter.
    const z = createGunzip({ chunkSize: 128 * 1024 })
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const fail = (err: IngestError): void => {
      if (done) return
      done = true
      z.destroy()
      reject(err)
    }
    z.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > maxDecodedBytes) fail(tooLarge(maxDecodedBytes))
      else chunks.push(chunk)
    })
    z.on('error', (err) => {
      fail(
        new IngestError('BAD_PAYLOAD', `the body is not valid gzip: ${err.message}`, {
          cause: err,
        }),
      )
    })
    z.on('end', () => {
      if (done) return
      done = true
      resolve(Buffer.concat(chunks, size))
    })
    z.end(body)
  })
}

/** One slice of a zstd body fed to fzstd at once (whole blocks), and the most work it can cost. */
export interface ZstdSlice {
  end: number
  /** Window bytes fzstd zeroes or copies for it. */
  window: number
  /** Most output it can decode to. */
  output: number
}

function badZstd(message: string): IngestError {
  return new IngestError('BAD_PAYLOAD', `the body is not valid zstd: ${message}`)
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 * 1024
    ? `${(bytes / 1024 ** 3).toFixed(3)} GiB`
    : `${(bytes / 1024 ** 2).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 2)} MiB`
}

/**
 * Every frame and block header of a zstd body, read before anything is decompressed (RFC 8878 §3.1):
 * refuses a window over ZSTD_MAX_WINDOW_BYTES, declared content sizes or raw/RLE block sizes over
 * the decoded limit, dictionaries, reserved bits, blocks over their maximum size, a body that ends
 * inside a frame, and more window work than ZSTD_MAX_WINDOW_WORK_BYTES. Returns where to cut the body
 * so each slice holds whole blocks. O(frames + blocks), no allocation but the slice list.
 */
export function scanZstd(body: Buffer, maxDecodedBytes: number): ZstdSlice[] {
  const slices: ZstdSlice[] = []
  let pos = 0
  let declared = 0 // content sizes and raw/RLE block sizes: exact output known from headers
  let work = 0
  const refuse = (message: string): never => {
    throw new IngestError('PAYLOAD_TOO_LARGE', message)
  }
  while (pos < body.length) {
    const frameAt = pos
    if (body.length - pos < 4) throw badZstd(`${body.length - pos} stray bytes at byte ${pos}`)
    const magic = body.readUInt32LE(pos)
    if (magic >>> 4 === 0x184d2a5) {
      // A skippable frame: 4-byte magic, 4-byte size, data nobody reads.
      if (body.length - pos < 8) throw badZstd(`skippable frame at byte ${pos} is truncated`)
      const size = body.readUInt32LE(pos + 4)
      if (size > body.length - pos - 8) throw badZstd(`skippable frame at byte ${pos} is truncated`)
      pos += 8 + size
      slices.push({ end: pos, window: 0, output: 0 })
      continue
    }
    if (magic !== 0xfd2fb528)
      throw badZstd(`no zstd frame at byte ${pos} (magic ${magic.toString(16).padStart(8, '0')})`)
    if (body.length - pos < 6) throw badZstd(`frame header at byte ${pos} is truncated`)
    const descriptor = body[pos + 4] ?? 0
    const fcsFlag = descriptor >> 6
    const singleSegment = (descriptor >> 5) & 1
    const checksum = (descriptor >> 2) & 1
    const dictFlag = descriptor & 3
    if (descriptor & 0x08) throw badZstd(`frame at byte ${pos} sets a reserved header bit`)
    let p = pos + 5
    let window = 0
    if (!singleSegment) {
      const wd = body[p++] ?? 0
      const base = 2 ** (10 + (wd >> 3))
      window = base + (base / 8) * (wd & 7)
    }
    const dictBytes = [0, 1, 2, 4][dictFlag] ?? 0
    const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag
    if (body.length - p < dictBytes + fcsBytes) throw badZstd(`frame header at byte ${pos} is truncated`)
    let dictionary = 0
    for (let i = 0; i < dictBytes; i++) dictionary += (body[p + i] ?? 0) * 2 ** (8 * i)
    if (dictionary !== 0)
      throw badZstd(`frame at byte ${pos} needs dictionary ${dictionary}; the gateway has none`)
    p += dictBytes
    let contentSize = -1
    if (fcsBytes > 0) {
      contentSize = 0
      for (let i = 0; i < fcsBytes; i++) contentSize += (body[p + i] ?? 0) * 2 ** (8 * i)
      if (fcsBytes === 2) contentSize += 256
      p += fcsBytes
    }
    if (singleSegment) window = contentSize
    if (window > ZSTD_MAX_WINDOW_BYTES)
      refuse(
        `zstd frame at byte ${pos} declares a ${mib(window)} window; at most ${mib(ZSTD_MAX_WINDOW_BYTES)} is accepted (zstd levels 1–19 stay within it; do not use --ultra or --long)`,
      )
    if (contentSize >= 0) {
      declared += contentSize
      if (declared > maxDecodedBytes)
        refuse(
          `zstd frame at byte ${pos} declares ${String(contentSize)} bytes of content, more than the ${String(maxDecodedBytes)} a body may decompress to: send smaller batches`,
        )
    }
    // fzstd zeroes a window of this size for the frame.
    work += window
    const blockMax = Math.min(window, BLOCK_MAX_BYTES)
    let first = true
    for (;;) {
      if (body.length - p < 3) throw badZstd(`block header at byte ${p} is truncated`)
      const header = (body[p] ?? 0) | ((body[p + 1] ?? 0) << 8) | ((body[p + 2] ?? 0) << 16)
      const last = header & 1
      const type = (header >> 1) & 3
      const size = header >>> 3
      if (type === 3) throw badZstd(`block at byte ${p} has the reserved block type`)
      if (size > blockMax)
        throw badZstd(
          `block at byte ${p} is ${String(size)} bytes, over the frame's block maximum ${String(blockMax)}`,
        )
      const contentBytes = type === 1 ? 1 : size
      if (body.length - p - 3 < contentBytes) throw badZstd(`block at byte ${p} is truncated`)
      if (type !== 2) {
        declared += size
        if (declared > maxDecodedBytes) throw tooLarge(maxDecodedBytes)
      }
      // Per block fzstd copies its window once and writes the block's output (≤ blockMax).
      const output = type === 2 ? blockMax : size
      work += window + output
      if (work > ZSTD_MAX_WINDOW_WORK_BYTES)
        refuse(
          `zstd body needs more than ${mib(ZSTD_MAX_WINDOW_WORK_BYTES)} of window copies to decompress (frame at byte ${frameAt}, ${mib(window)} window, block at byte ${p}): compress with fewer, larger blocks or a smaller window`,
        )
      p += 3 + contentBytes
      if (last) {
        if (checksum) {
          if (body.length - p < 4) throw badZstd(`checksum at byte ${p} is truncated`)
          p += 4
        }
        slices.push({ end: p, window: first ? 2 * window : window, output })
        break
      }
      slices.push({ end: p, window: first ? 2 * window : window, output })
      first = false
    }
    pos = p
  }
  return slices
}

/**
 * fzstd fed one scanned slice (whole blocks) at a time: the output is counted after each and the
 * event loop gets a turn after about a millisecond of work.
 */
async function unzstd(body: Buffer, maxDecodedBytes: number): Promise<Buffer> {
  if (body.length === 0) throw badZstd('the body is empty')
  const slices = scanZstd(body, maxDecodedBytes)
  const chunks: Uint8Array[] = []
  // An object, not locals: the callback's writes are invisible to the compiler's narrowing.
  const out = { size: 0, exceeded: false }
  const stream = new Decompress((chunk) => {
    if (out.exceeded) return
    out.size += chunk.length
    if (out.size > maxDecodedBytes) out.exceeded = true
    else chunks.push(chunk)
  })
  let start = 0
  let windowSinceYield = 0
  let outputSinceYield = 0
  for (let i = 0; i < slices.length; i++) {
    const slice = slices[i] as ZstdSlice
    try {
      stream.push(body.subarray(start, slice.end), i === slices.length - 1)
    } catch (err) {
      throw badZstd(err instanceof Error ? err.message : String(err))
    }
    if (out.exceeded) throw tooLarge(maxDecodedBytes)
    start = slice.end
    windowSinceYield += slice.window
    outputSinceYield += slice.output
    if (windowSinceYield >= YIELD_AFTER_WINDOW_BYTES || outputSinceYield >= YIELD_AFTER_OUTPUT_BYTES) {
      windowSinceYield = 0
      outputSinceYield = 0
      await nextTurn()
    }
  }
  return Buffer.concat(chunks, out.size)
}
