/**
 * Lets a repeated message through at most once per `everyMs`: a failure that repeats at the sample
 * rate must not flood the log, and its first occurrence is logged at once.
 */
export class LogEvery {
  private last: number

  /** `lastMs`: when it last let one through (default never). */
  constructor(
    private readonly everyMs: number,
    lastMs = Number.NEGATIVE_INFINITY,
  ) {
    this.last = lastMs
  }

  /** Whether to log now; if so, the next one waits `everyMs` from now. */
  due(now = Date.now()): boolean {
    if (now - this.last < this.everyMs) return false
    this.last = now
    return true
  }
}
