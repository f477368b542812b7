import { FAMILIES, type Family } from '../../schemas/src/families.ts'
import { Ticker } from './ticker.ts'

export interface FamilySchedule {
  enabled: boolean
  intervalMs: number
}

export type Schedule = Record<Family, FamilySchedule>

/** A change to some families' schedules, as a control message asks for it (already validated). */
export type ScheduleChange = Partial<Record<Family, Partial<FamilySchedule>>>

/** Declared with the admission rule, which refuses a sample whose interval_ms is outside them. */
export { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../../schemas/src/admission.ts'
/**
 * Families that default to a slower interval than the rest: statfs of every mount is the costliest
 * read and filesystem sizes move slowly; the agent's own health needs no sub-second resolution.
 */
const SLOW_DEFAULT_MS: Partial<Record<Family, number>> = { filesystem: 10_000, agent: 10_000 }

export function defaultSchedule(intervalMs: number): Schedule {
  const s = {} as Schedule
  for (const f of FAMILIES)
    s[f] = { enabled: true, intervalMs: Math.max(intervalMs, SLOW_DEFAULT_MS[f] ?? 0) }
  return s
}

/**
 * Each family runs at its own aligned interval (cpu at 100 ms, filesystems at 10 s), and families that
 * share an interval share one timer: at 10 Hz seven families cost one wake-up per tick, not seven.
 * A live change moves families between timers; a timer that keeps running keeps its phase.
 */
export class FamilyScheduler {
  private readonly schedule: Schedule
  /** Interval → the ticker for it and the families (in FAMILIES order) it runs. */
  private readonly groups = new Map<number, { ticker: Ticker; families: Family[] }>()
  private missedBefore = 0
  private lateBefore = 0
  private running = false

  constructor(
    initial: Schedule,
    /** scheduledMs: the wall-clock time this tick was due, a multiple of the interval. */
    private readonly onTick: (family: Family, intervalMs: number, scheduledMs: number) => void,
  ) {
    this.schedule = structuredClone(initial)
  }

  current(): Schedule {
    return structuredClone(this.schedule)
  }

  /** Ticks missed so far (a stalled process), counted rather than bunched. */
  missedTicks(): number {
    let n = this.missedBefore
    for (const g of this.groups.values()) n += g.ticker.missed
    return n
  }

  /** Ticks that fired more than half an interval after their time. */
  lateTicks(): number {
    let n = this.lateBefore
    for (const g of this.groups.values()) n += g.ticker.late
    return n
  }

  start(): void {
    this.running = true
    this.regroup()
  }

  stop(): void {
    this.running = false
    this.regroup()
  }

  apply(change: ScheduleChange): Schedule {
    for (const [family, c] of Object.entries(change) as [Family, Partial<FamilySchedule>][]) {
      const s = this.schedule[family]
      this.schedule[family] = { enabled: c.enabled ?? s.enabled, intervalMs: c.intervalMs ?? s.intervalMs }
    }
    this.regroup()
    return this.current()
  }

  /** Bring the timers in line with the schedule: start new intervals, stop unused ones, move families. */
  private regroup(): void {
    const wanted = new Map<number, Family[]>()
    if (this.running) {
      for (const f of FAMILIES) {
        const { enabled, intervalMs } = this.schedule[f]
        if (!enabled) continue
        const list = wanted.get(intervalMs)
        if (list) list.push(f)
        else wanted.set(intervalMs, [f])
      }
    }
    for (const [intervalMs, group] of this.groups) {
      if (wanted.has(intervalMs)) continue
      group.ticker.stop()
      this.missedBefore += group.ticker.missed
      this.lateBefore += group.ticker.late
      this.groups.delete(intervalMs)
    }
    for (const [intervalMs, families] of wanted) {
      const existing = this.groups.get(intervalMs)
      if (existing) {
        existing.families = families
        continue
      }
      const group = {
        families,
        ticker: new Ticker(intervalMs, (scheduledMs) => {
          for (const f of group.families) this.onTick(f, intervalMs, scheduledMs)
        }),
      }
      this.groups.set(intervalMs, group)
      group.ticker.start()
    }
  }
}
