import { FAMILIES, type Family } from '../../schemas/src/families.ts'
import { Ticker } from './ticker.ts'

export interface FamilySchedule {
  enabled: boolean
  intervalMs: number
}

export type Schedule = Record<Family, FamilySchedule>

/** A change to some families' schedules, as a control message asks for it (already validated). */
export type ScheduleChange = Partial<Record<Family, Partial<FamilySchedule>>>

export const MIN_INTERVAL_MS = 10
export const MAX_INTERVAL_MS = 10_000
/** statfs of every mount is the costliest read and filesystem sizes move slowly. */
const FILESYSTEM_MIN_DEFAULT_MS = 10_000

export function defaultSchedule(intervalMs: number): Schedule {
  const s = {} as Schedule
  for (const f of FAMILIES) {
    s[f] = {
      enabled: true,
      intervalMs: f === 'filesystem' ? Math.max(intervalMs, FILESYSTEM_MIN_DEFAULT_MS) : intervalMs,
    }
  }
  return s
}

/**
 * One aligned ticker per family, so each family runs at its own interval (cpu at 100 ms, filesystems
 * at 10 s) and a live change restarts only the families it touches.
 */
export class FamilyScheduler {
  private readonly schedule: Schedule
  private readonly tickers = new Map<Family, Ticker>()
  private missedBefore = 0
  private running = false

  constructor(
    initial: Schedule,
    private readonly onTick: (family: Family, intervalMs: number) => void,
  ) {
    this.schedule = structuredClone(initial)
  }

  current(): Schedule {
    return structuredClone(this.schedule)
  }

  /** Ticks missed by every ticker so far (a stalled process), counted rather than bunched. */
  missedTicks(): number {
    let n = this.missedBefore
    for (const t of this.tickers.values()) n += t.missed
    return n
  }

  start(): void {
    this.running = true
    for (const f of FAMILIES) this.restart(f)
  }

  stop(): void {
    this.running = false
    for (const f of FAMILIES) this.halt(f)
  }

  apply(change: ScheduleChange): Schedule {
    for (const [family, c] of Object.entries(change) as [Family, Partial<FamilySchedule>][]) {
      const s = this.schedule[family]
      const next = { enabled: c.enabled ?? s.enabled, intervalMs: c.intervalMs ?? s.intervalMs }
      if (next.enabled === s.enabled && next.intervalMs === s.intervalMs) continue
      this.schedule[family] = next
      if (this.running) this.restart(family)
    }
    return this.current()
  }

  private halt(family: Family): void {
    const t = this.tickers.get(family)
    if (!t) return
    t.stop()
    this.missedBefore += t.missed
    this.tickers.delete(family)
  }

  private restart(family: Family): void {
    this.halt(family)
    const { enabled, intervalMs } = this.schedule[family]
    if (!enabled) return
    const t = new Ticker(intervalMs, () => {
      this.onTick(family, intervalMs)
    })
    this.tickers.set(family, t)
    t.start()
  }
}
