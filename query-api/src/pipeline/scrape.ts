import {
  DEFAULT_EXPOSITION_LIMITS,
  parseExposition,
  type ParsedExposition,
} from '#platform/prometheus-parse.ts'
import type { PipelineTarget } from './targets.ts'

export interface Scrape {
  readonly target: PipelineTarget
  /** When the answer (or the failure) came. */
  readonly atMs: number
  readonly page?: ParsedExposition
  /** Why there is no page: said to the operator, so only what this side saw (never the body). */
  readonly error?: string
}

const MAX_BODY_BYTES = DEFAULT_EXPOSITION_LIMITS.maxChars

/**
 * Reads one configured target's /metrics: at most `timeoutMs` for the whole answer, at most
 * MAX_BODY_BYTES of it, no redirects (only the configured URL is ever fetched), then the bounded
 * parser. Never throws: a target that fails is a Scrape with its reason.
 */
export async function scrapeTarget(target: PipelineTarget, timeoutMs: number): Promise<Scrape> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const res = await fetch(target.url, {
      signal,
      redirect: 'manual',
      headers: { accept: 'text/plain; version=0.0.4' },
    })
    if (res.status !== 200) {
      await res.body?.cancel()
      return { target, atMs: Date.now(), error: `answered HTTP ${String(res.status)}` }
    }
    const text = await readBounded(res, MAX_BODY_BYTES)
    if (text === undefined)
      return { target, atMs: Date.now(), error: `answer over ${String(MAX_BODY_BYTES)} bytes` }
    return { target, atMs: Date.now(), page: parseExposition(text) }
  } catch (err) {
    return { target, atMs: Date.now(), error: reasonOf(err, signal, timeoutMs) }
  }
}

async function readBounded(res: Response, maxBytes: number): Promise<string | undefined> {
  if (res.body === null) return ''
  const chunks: Uint8Array[] = []
  let total = 0
  // Leaving the loop early cancels the stream: the rest of an oversized answer is never read.
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength
    if (total > maxBytes) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function reasonOf(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `no answer within ${String(timeoutMs)} ms`
  if (err instanceof Error && err.name === 'ExpositionError') return `not Prometheus text: ${err.message}`
  // fetch's own message is "fetch failed"; the cause says what happened (ECONNREFUSED, ENOTFOUND, …).
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause
  if (typeof cause?.code === 'string') return `cannot connect: ${cause.code}`
  if (typeof cause?.message === 'string') return `cannot read: ${cause.message}`.slice(0, 200)
  return `cannot read: ${err instanceof Error ? err.message : String(err)}`.slice(0, 200)
}
