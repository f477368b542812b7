import { afterEach, describe, expect, it, vi } from 'vitest'
import { defaultSchedule, FamilyScheduler } from './schedule.ts'

afterEach(() => {
  vi.useRealTimers()
})

describe('FamilyScheduler', () => {
  it('runs each family at its own aligned interval and applies live changes to the families named', () => {
    vi.useFakeTimers({ now: 1_000_500 })
    const ticks: [string, number][] = []
    const s = new FamilyScheduler(defaultSchedule(1000), (f, ms) => ticks.push([f, ms]))
    expect(s.current().filesystem?.intervalMs).toBe(10_000)
    s.start()
    vi.advanceTimersByTime(2050)
    const count = (f: string): number => ticks.filter(([x]) => x === f).length
    expect(count('cpu')).toBe(2)
    expect(count('filesystem')).toBe(0)

    const applied = s.apply({ cpu: { intervalMs: 100 }, disk: { enabled: false } })
    expect(applied.cpu).toEqual({ enabled: true, intervalMs: 100 })
    expect(applied.disk?.enabled).toBe(false)
    ticks.length = 0
    vi.advanceTimersByTime(1000)
    expect(count('cpu')).toBe(10)
    expect(count('memory')).toBe(1)
    expect(count('disk')).toBe(0)
    expect(ticks.find(([f]) => f === 'cpu')?.[1]).toBe(100)
    s.stop()
    ticks.length = 0
    vi.advanceTimersByTime(5000)
    expect(ticks).toEqual([])
  })

  it('wakes once per distinct interval, not once per family', () => {
    vi.useFakeTimers({ now: 5_000_000 })
    const schedule = defaultSchedule(100)
    // The families and most collectors at 100 ms, filesystems and the agent at 10 s, static inputs
    // (dmi, os-release) at a minute: one timer each, however many entries share it.
    const intervals = new Set(Object.values(schedule).flatMap((e) => (e.enabled ? [e.intervalMs] : [])))
    expect([...intervals].sort((a, b) => a - b)).toEqual([100, 10_000, 60_000])
    const s = new FamilyScheduler(schedule, () => undefined)
    s.start()
    expect(vi.getTimerCount()).toBe(3)
    s.apply({ cpu: { intervalMs: 20 }, memory: { intervalMs: 20 } })
    expect(vi.getTimerCount()).toBe(4)
    s.apply({ cpu: { intervalMs: 100 }, memory: { intervalMs: 100 } })
    expect(vi.getTimerCount()).toBe(3)
    s.stop()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('keeps the phase of an interval that other families still use when one family leaves it', () => {
    vi.useFakeTimers({ now: 7_000_050 })
    const ticks: [string, number][] = []
    const s = new FamilyScheduler(defaultSchedule(100), (f) => ticks.push([f, Date.now()]))
    s.start()
    vi.advanceTimersByTime(60) // the 7_000_100 tick
    s.apply({ load: { enabled: false } })
    vi.advanceTimersByTime(100) // the 7_000_200 tick, exactly once, without load
    expect(ticks.filter(([f]) => f === 'cpu').map(([, t]) => t)).toEqual([7_000_100, 7_000_200])
    expect(ticks.filter(([f]) => f === 'load').map(([, t]) => t)).toEqual([7_000_100])
    s.stop()
  })
})
