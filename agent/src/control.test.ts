import { describe, expect, it } from 'vitest'
import { parseControlRequest } from './control.ts'

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
    [{}, /changes nothing/],
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
})
