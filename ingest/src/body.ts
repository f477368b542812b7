import { gunzipSync } from 'node:zlib'
import { Decompress } from 'fzstd'
import { IngestError } from './errors.ts'

/** Content types the gateway reads as Avro single-object records back to back. */
export const AVRO_CONTENT_TYPES = ['application/vnd.procstream.avro', 'avro/binary'] as const

/**
 * The request body as Avro bytes. The decompressed size is bounded while decompressing, so a small
 * compressed body cannot expand into gigabytes (a "zip bomb") before the limit is seen.
 */
export function decodeBody(
  body: Buffer,
  contentEncoding: string | undefined,
  maxDecodedBytes: number,
): Buffer {
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

function gunzip(body: Buffer, maxDecodedBytes: number): Buffer {
  try {
    return gunzipSync(body, { maxOutputLength: maxDecodedBytes })
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxDecodedBytes)
    throw new IngestError('BAD_PAYLOAD', `the body is not valid gzip: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

function unzstd(body: Buffer, maxDecodedBytes: number): Buffer {
  const chunks: Uint8Array[] = []
  // An object, not locals: the callback's writes are invisible to the compiler's narrowing.
  const out = { size: 0, exceeded: false }
  const stream = new Decompress((chunk) => {
    out.size += chunk.length
    if (out.size > maxDecodedBytes) out.exceeded = true
    else chunks.push(chunk)
  })
  try {
    // Fed in slices so the size check runs between them rather than after the whole frame.
    for (let pos = 0; pos < body.length && !out.exceeded; pos += 64 * 1024)
      stream.push(body.subarray(pos, pos + 64 * 1024), pos + 64 * 1024 >= body.length)
  } catch (err) {
    throw new IngestError('BAD_PAYLOAD', `the body is not valid zstd: ${(err as Error).message}`, {
      cause: err,
    })
  }
  if (out.exceeded) throw tooLarge(maxDecodedBytes)
  return Buffer.concat(chunks, out.size)
}
