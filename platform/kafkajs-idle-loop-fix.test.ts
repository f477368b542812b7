import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { applyKafkajsIdleLoopFix, kafkajsRequestQueue } from './kafkajs-idle-loop-fix.ts'

interface Queue {
  throttleCheckTimeoutId: unknown
  pending: unknown[]
  checkPendingRequests(): void
  maybeThrottle(ms: number): void
  push(request: {
    entry: { correlationId: number; resolve: () => void; reject: () => void }
    expectResponse: boolean
    sendRequest: () => void
  }): void
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void
}

const silent = {
  debug: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  info: () => undefined,
}

function newQueue(): Queue {
  const RequestQueue = kafkajsRequestQueue() as unknown as new (options: object) => Queue
  return new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'test:9092',
    logger: silent,
  })
}

function request(correlationId: number, sent: number[]): Parameters<Queue['push']>[0] {
  return {
    entry: { correlationId, resolve: () => undefined, reject: () => undefined },
    expectResponse: true,
    sendRequest: () => {
      sent.push(correlationId)
    },
  }
}

describe('kafkajs RequestQueue idle-loop fix', () => {
  beforeAll(() => {
    applyKafkajsIdleLoopFix()
    applyKafkajsIdleLoopFix() // idempotent
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('arms no timer when nothing is pending and nothing is throttled', () => {
    const q = newQueue()
    q.checkPendingRequests()
    expect(q.throttleCheckTimeoutId).toBeNull()
  })

  it('sends a request queued behind the in-flight limit once the first is answered, then goes quiet', () => {
    vi.useFakeTimers()
    const q = newQueue()
    const sent: number[] = []
    q.push(request(1, sent))
    q.push(request(2, sent))
    expect(sent).toEqual([1])
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 })
    expect(sent).toEqual([1, 2])
    q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 })
    // The check armed while request 2 waited fires once; nothing may re-arm after it.
    vi.advanceTimersByTime(100)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('sends a request held back by broker throttling when the throttle lifts', () => {
    vi.useFakeTimers()
    const q = newQueue()
    const sent: number[] = []
    q.maybeThrottle(50)
    q.push(request(7, sent))
    expect(sent).toEqual([])
    vi.advanceTimersByTime(49)
    expect(sent).toEqual([])
    vi.advanceTimersByTime(20)
    expect(sent).toEqual([7])
  })
})
