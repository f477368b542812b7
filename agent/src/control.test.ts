import { describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { answerControlRequest } from './control.ts'
import { parseControlBody, parseControlRequest } from '#schemas/src/control.ts'
import { defaultSchedule, FamilyScheduler } from './schedule.ts'

const req = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))

describe('control requests', () => {
  it('turns a global interval into a change for every family, and lets per-family settings refine it', () => {
    const change = parseControlRequest(
      req({ interval_ms: 100, families: { filesystem: { enabled: false } } }),
    )
    expect(change.cpu).toEqual({ intervalMs: 100 })
    expect(change.filesystem).toEqual({ intervalMs: 100, enabled: false })
  })

  it.each([
    ['not json', /not JSON/],
    [[1, 2], /must be a JSON object/],
    [{ families: {} }, /changes nothing/],
    [{ interval: 5 }, /unknown field\(s\): interval/],
    [{ interval_ms: 5 }, /interval_ms must be a whole number of milliseconds from 10 to 300000/],
    [{ interval_ms: 100.5 }, /whole number/],
    [{ families: { gpu: { enabled: true } } }, /unknown family "gpu"; known: cpu, memory/],
    [{ families: { cpu: { enabled: 'yes' } } }, /families.cpu.enabled must be true or false/],
    [{ families: { cpu: { interval_ms: 300_001 } } }, /families.cpu.interval_ms must be/],
    [{ families: { cpu: { speed: 1 } } }, /families.cpu: unknown field\(s\): speed/],
  ])('rejects %j, naming the problem', (body, message) => {
    expect(() => parseControlRequest(req(body))).toThrow(message)
  })

  it('checks a decoded body by the same rules, so the query API refuses what the agent would', () => {
    expect(parseControlBody({ interval_ms: 100 }).cpu).toEqual({ intervalMs: 100 })
    expect(() => parseControlBody({ interval_ms: 5 })).toThrow(/interval_ms must be a whole number/)
    expect(() => parseControlBody(null)).toThrow(/must be a JSON object/)
  })

  it('answers an empty request with the schedule in force and changes nothing', () => {
    const scheduler = new FamilyScheduler(defaultSchedule(1000), () => undefined)
    scheduler.apply({ cpu: { intervalMs: 250 } })
    const before = scheduler.current()
    const target = {
      hostId: 'h1',
      agentId: 'a1',
      scheduler,
      logger: createLogger('control-test', { level: 'silent' }),
    }
    const reply = answerControlRequest(target, req({}), 'test')
    expect(reply.error).toBeUndefined()
    expect(reply.applied?.cpu).toEqual({ enabled: true, interval_ms: 250 })
    expect(reply.applied?.filesystem).toEqual({ enabled: true, interval_ms: 10_000 })
    expect(scheduler.current()).toEqual(before)
  })
})
