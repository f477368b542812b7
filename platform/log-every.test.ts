import { describe, expect, it } from 'vitest'
import { LogEvery } from './log-every.ts'

describe('LogEvery', () => {
  it('lets the first through, then one per period', () => {
    const every = new LogEvery(60_000)
    expect(every.due(0)).toBe(true)
    expect(every.due(59_999)).toBe(false)
    expect(every.due(60_000)).toBe(true)
    expect(every.due(60_001)).toBe(false)
  })

  it('starts from the time it is given', () => {
    const every = new LogEvery(1_000, 0)
    expect(every.due(999)).toBe(false)
    expect(every.due(1_000)).toBe(true)
  })
})
