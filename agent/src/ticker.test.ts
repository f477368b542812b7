import { describe, expect, it } from 'vitest'
import { Ticker } from './ticker.ts'

describe('Ticker', () => {
  it('aligns ticks to the interval and counts skipped ticks instead of bunching them', () => {
    let clock = 1_000_050
    const ticks: number[] = []
    const t = new Ticker(
      100,
      (s) => ticks.push(s),
      () => clock,
    )
    t.start()
    t.stop() // drive fire() by hand with a fake clock
    clock = 1_000_100
    t.fire()
    clock = 1_000_203
    t.fire()
    // The process stalled for 350 ms: ticks at 300, 400 and 500 are past; one tick fires, three counted.
    clock = 1_000_650
    t.fire()
    clock = 1_000_700
    t.fire()
    // A wake-up before the tick's time (timers and Date.now() disagree by a millisecond) is not a tick.
    clock = 1_000_799
    t.fire()
    expect(ticks).toEqual([1_000_100, 1_000_200, 1_000_600, 1_000_700])
    expect(t.missed).toBe(3)
    expect(t.late).toBe(1)
  })
})
