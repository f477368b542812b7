import { collectorFloors, SCHEDULED } from '#schemas/src/schedulable.ts'
import type { FamilySchedule, ScheduleChange } from '#schemas/src/control.ts'
import { NODE_COLLECTORS } from './collectors/node/index.ts'
import { Ticker } from './ticker.ts'

// What can be scheduled, the floors and the control request's change are contracts with the query
// API (schemas/src/schedulable.ts, schemas/src/control.ts); re-exported for the agent's own modules.
export { collectorFloorMs, isScheduled, SCHEDULED } from '#schemas/src/schedulable.ts'
export type { FamilySchedule, ScheduleChange } from '#schemas/src/control.ts'

/** Keyed by the names in SCHEDULED. */
export type Schedule = Record<string, FamilySchedule>

/** Declared with the admission rule, which refuses a sample whose interval_ms is outside them. */
export { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '#schemas/src/admission.ts'
/**
 * Entries that default to a slower interval than the rest: statfs of every mount is the costliest
 * read and filesystem sizes move slowly; the agent's own health needs no sub-second resolution;
 * collectors of slow-changing inputs (hwmon, dmi, os-release) declare their own floor.
 */
const SLOW_DEFAULT_MS: Readonly<Record<string, number>> = {
  filesystem: 10_000,
  agent: 10_000,
  ...collectorFloors(),
}

const DEFAULT_OFF = new Set(NODE_COLLECTORS.filter((c) => !c.defaultEnabled).map((c) => c.name))

export function defaultSchedule(intervalMs: number): Schedule {
  const s: Schedule = {}
  for (const f of SCHEDULED)
    s[f] = { enabled: !DEFAULT_OFF.has(f), intervalMs: Math.max(intervalMs, SLOW_DEFAULT_MS[f] ?? 0) }
  return s
}

/**
 * Each family runs at its own aligned interval (cpu at 100 ms, filesystems at 10 s), and families that
 * share an interval share one timer: at 10 Hz seven families cost one wake-up per tick, not seven.
 * A live change moves families between timers; a timer that keeps running keeps its phase.
 */
export class FamilyScheduler {
  private readonly schedule: Schedule
  /** Interval → the ticker for it and the entries (in SCHEDULED order) it runs. */
  private readonly groups = new Map<number, { ticker: Ticker; families: string[] }>()
  private missedBefore = 0
  private lateBefore = 0
  private running = false

  constructor(
    initial: Schedule,
    /** scheduledMs: the wall-clock time this tick was due, a multiple of the interval. */
    private readonly onTick: (family: string, intervalMs: number, scheduledMs: number) => void,
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
    for (const [family, c] of Object.entries(change)) {
      const s = this.schedule[family]
      if (s === undefined) continue
      this.schedule[family] = { enabled: c.enabled ?? s.enabled, intervalMs: c.intervalMs ?? s.intervalMs }
    }
    this.regroup()
    return this.current()
  }

  /** Bring the timers in line with the schedule: start new intervals, stop unused ones, move families. */
  private regroup(): void {
    const wanted = new Map<number, string[]>()
    if (this.running) {
      for (const f of SCHEDULED) {
        const entry = this.schedule[f]
        if (!entry?.enabled) continue
        const { intervalMs } = entry
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
