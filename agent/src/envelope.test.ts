import { describe, expect, it } from 'vitest'
import { sampleTimestampUs } from './envelope.ts'

describe('sampleTimestampUs', () => {
  it('stamps the scheduled tick when the read was within min(2 ms, 0.2 % of the interval) of it', () => {
    expect(sampleTimestampUs(1_000_001.5, 1_000_000, 1000)).toBe(1_000_000_000)
    expect(sampleTimestampUs(1_000_002, 1_000_000, 1000)).toBe(1_000_000_000)
    expect(sampleTimestampUs(1_000_000.2, 1_000_000, 100)).toBe(1_000_000_000)
  })

  it('keeps the clock when the read was later than that', () => {
    expect(sampleTimestampUs(1_000_002.5, 1_000_000, 1000)).toBe(1_000_002_500)
    expect(sampleTimestampUs(1_000_000.3, 1_000_000, 100)).toBe(1_000_000_300)
    expect(sampleTimestampUs(1_000_009, 1_000_000, 10_000)).toBe(1_000_009_000)
  })
})
