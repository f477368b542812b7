import { afterEach, describe, expect, it, vi } from 'vitest'
import { sleep, within } from './time.ts'

afterEach(() => {
  vi.useRealTimers()
})

describe('sleep', () => {
  it('resolves after the delay', async () => {
    vi.useFakeTimers()
    let done = false
    void sleep(100).then(() => (done = true))
    await vi.advanceTimersByTimeAsync(99)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(done).toBe(true)
  })

  it('resolves at once when its signal aborts, and leaves no timer', async () => {
    vi.useFakeTimers()
    const stop = new AbortController()
    const slept = sleep(60_000, stop.signal)
    stop.abort()
    await slept
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('within', () => {
  it('waits for the promise, ignoring its failure', async () => {
    await expect(within(Promise.reject(new Error('x')), 1_000)).resolves.toBeUndefined()
  })

  it('stops waiting after the limit', async () => {
    vi.useFakeTimers()
    let done = false
    void within(new Promise(() => undefined), 50).then(() => (done = true))
    await vi.advanceTimersByTimeAsync(50)
    expect(done).toBe(true)
  })
})
