/**
 * Resolves after `ms`, or as soon as `signal` aborts (it never rejects), so a loop that waits can be
 * stopped without waiting out its delay.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * Waits for `p` (its failure ignored) but no longer than `ms`: a shutdown step that must not hold the
 * exit for ever.
 */
export async function within(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((r) => {
      timer = setTimeout(r, Math.max(0, ms))
    }),
  ])
  clearTimeout(timer)
}
