import { describe, expect, it } from 'vitest'
import { caught } from '#test/support/caught.ts'
import { parseControlChange, parseControlTarget, parseWaitMs } from './control.ts'

describe('control request checks', () => {
  it('takes exactly one target, its name held to the gateway’s rules', () => {
    expect(parseControlTarget({ host: 'web-1.example' })).toEqual({ host: 'web-1.example' })
    expect(parseControlTarget({ group: 'db' })).toEqual({ group: 'db' })
    expect(parseControlTarget({ all: true })).toEqual({ all: true })
    expect(parseControlTarget({ all: 'true' })).toEqual({ all: true })
    expect(caught(() => parseControlTarget({})).message).toBe(
      'target must name exactly one of host, group or all',
    )
    expect(caught(() => parseControlTarget({ host: 'a', group: 'b' })).message).toBe(
      'target must name exactly one of host, group or all',
    )
    expect(caught(() => parseControlTarget({ host: 'a b' })).message).toBe(
      'host "a b" must be printable ASCII without spaces or commas',
    )
    expect(caught(() => parseControlTarget({ host: ['a', 'b'] })).message).toBe(
      'host must be given once, as a string',
    )
    expect(caught(() => parseControlTarget({ all: false })).message).toBe('target all must be true')
    expect(caught(() => parseControlTarget({ host: 'a', tenant: 'b' })).message).toBe(
      'target: unknown field(s): tenant',
    )
  })

  it('bounds the wait', () => {
    expect(parseWaitMs(undefined)).toBe(2000)
    expect(parseWaitMs('500')).toBe(500)
    expect(parseWaitMs(10_000)).toBe(10_000)
    for (const bad of [99, 10_001, '1e3', 1.5, 'soon'])
      expect(caught(() => parseWaitMs(bad)).message).toMatch(/wait_ms must be a whole number of milliseconds/)
  })

  it('checks a change by the agent’s rules and passes on only interval_ms and families', () => {
    expect(parseControlChange({ target: { all: true }, interval_ms: 100 })).toEqual({ interval_ms: 100 })
    expect(parseControlChange({ families: { filesystem: { enabled: false } } })).toEqual({
      families: { filesystem: { enabled: false } },
    })
    expect(caught(() => parseControlChange({ target: { all: true } })).message).toMatch(
      /give interval_ms or families/,
    )
    expect(caught(() => parseControlChange({ interval_ms: 5 })).message).toBe(
      'interval_ms must be a whole number of milliseconds from 10 to 300000',
    )
    expect(caught(() => parseControlChange({ families: { gpu: {} } })).message).toMatch(
      /^unknown family "gpu"; known: cpu/,
    )
    const err = caught(() => parseControlChange({ families: { cpu: { enabled: 'yes' } } }))
    expect((err as { statusCode?: number }).statusCode).toBe(400)
  })
})
