// A static import, so that bundlers keep kafkajs's own instance of the module rather than a copy.
import RequestQueue from 'kafkajs/src/network/requestQueue/index.js'

/**
 * kafkajs 2.2.4's RequestQueue re-arms a timer with a negative delay (so 1 ms) after every check, even
 * when nothing is pending and nothing is throttled: every open broker connection spins its event loop
 * about a thousand times a second for as long as it lives (kafkajs issues #1556 and #1704, fix proposed
 * in PR #1667, unreleased). Measured on the agent at 1 Hz: 4.7 % of a core, nearly all of it this loop.
 *
 * The replacement schedules a check only when there is something to check: a request waiting, or a
 * throttle that will lift. A request that arrives later is either sent at once or queued by `push`,
 * which schedules its own check, and a fulfilled request checks the queue itself, so no check is lost.
 */

/** kafkajs's own CHECK_PENDING_REQUESTS_INTERVAL, not exported by the module. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10

interface RequestQueueInternals {
  throttledUntil: number
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null
  pending: unknown[]
  checkPendingRequests(): void
  scheduleCheckPendingRequests(): void
}

interface RequestQueueClass {
  prototype: RequestQueueInternals
}

const PATCHED = Symbol.for('procstream.kafkajs.idleLoopFix')

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId) return
  const untilUnthrottled = this.throttledUntil - Date.now()
  let delay: number
  if (this.pending.length > 0)
    delay = untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS
  else if (untilUnthrottled > 0) delay = untilUnthrottled
  else return
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null
    this.checkPendingRequests()
  }, delay)
}

/** kafkajs's RequestQueue class, the one its connections use (same module instance). */
export function kafkajsRequestQueue(): RequestQueueClass {
  return RequestQueue as RequestQueueClass
}

/**
 * Replaces RequestQueue.scheduleCheckPendingRequests once per process. Throws when kafkajs no longer
 * has the method, so an upgrade that renames it is noticed at start-up instead of silently spinning.
 */
export function applyKafkajsIdleLoopFix(): void {
  const proto = kafkajsRequestQueue().prototype as RequestQueueInternals & { [PATCHED]?: true }
  if (proto[PATCHED]) return
  if (
    typeof proto.scheduleCheckPendingRequests !== 'function' ||
    typeof proto.checkPendingRequests !== 'function'
  ) {
    throw new Error(
      'kafkajs RequestQueue no longer has scheduleCheckPendingRequests/checkPendingRequests: review platform/kafkajs-idle-loop-fix.ts for this kafkajs version',
    )
  }
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests
  proto[PATCHED] = true
}
