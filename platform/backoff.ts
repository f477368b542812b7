/** The delay after `delayMs` failed again: twice as long, never over `maxMs`. */
export function doubled(delayMs: number, maxMs: number): number {
  return Math.min(delayMs * 2, maxMs)
}

/**
 * The delay after the `failures`-th failure in a row (1 = the first): `minMs` doubled each time, never
 * over `maxMs`. The exponent stops at 16 so a long outage cannot overflow to Infinity.
 */
export function backoffMs(failures: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, 16))
}
