import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Family } from '../../schemas/src/families.ts'
import { defaultSchedule, FamilyScheduler } from './schedule.ts'

afterEach(() => {
  vi.useRealTimers()
})

describe('FamilyScheduler', () => {
  it('runs each family at its own aligned interval and applies live changes to the families named', () => {
    vi.useFakeTimers({ now: 1_000_500 })
    const ticks: [Family, number][] = []
    const s = new FamilyScheduler(defaultSchedule(1000), (f, ms) => ticks.push([f, ms]))
    expect(s.current().filesystem.intervalMs).toBe(10_000)
    s.start()
    vi.advanceTimersByTime(2050)
    const count = (f: Family): number => ticks.filter(([x]) => x === f).length
    expect(count('cpu')).toBe(2)
    expect(count('filesystem')).toBe(0)

    const applied = s.apply({ cpu: { intervalMs: 100 }, disk: { enabled: false } })
    expect(applied.cpu).toEqual({ enabled: true, intervalMs: 100 })
    expect(applied.disk.enabled).toBe(false)
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
})
