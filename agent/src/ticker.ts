/**
 * Ticks aligned to multiples of the interval on the wall clock, so samples of many hosts line up
 * and the schedule never drifts. A tick that comes too late to be useful is counted as missed
 * instead of firing in a burst to catch up.
 */
export class Ticker {
  missed = 0
  late = 0
  private timer: NodeJS.Timeout | undefined
  private next = 0
  private running = false

  constructor(
    private readonly intervalMs: number,
    private readonly onTick: (scheduledMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.running = true
    this.next = Math.ceil(this.now() / this.intervalMs) * this.intervalMs
    this.arm()
  }

  stop(): void {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
  }

  /** Called when the timer fires: run the tick, skip the ones already past, schedule the next. */
  fire(): void {
    const now = this.now()
    const scheduled = this.next
    // A timer may wake a millisecond before the wall clock reaches its tick: wait for it, don't tick twice.
    if (now < scheduled) {
      if (this.running) this.arm()
      return
    }
    const behind = Math.floor((now - scheduled) / this.intervalMs)
    if (behind > 0) this.missed += behind
    if (now - scheduled > this.intervalMs / 2) this.late++
    this.next = scheduled + (behind + 1) * this.intervalMs
    this.onTick(scheduled + Math.max(behind, 0) * this.intervalMs)
    if (this.running) this.arm()
  }

  private arm(): void {
    this.timer = setTimeout(
      () => {
        this.fire()
      },
      Math.max(0, this.next - this.now()),
    )
  }
}
