import { describe, expect, it } from 'vitest'
import { resolveOptions, SCENARIOS } from './scenarios.ts'

describe('loadtest options', () => {
  it('takes a scenario and lets flags override each figure', () => {
    const o = resolveOptions({ scenario: 'heavy', out: '/tmp/x', hosts: '50', 'duration-s': '30' })
    expect(o).toMatchObject({
      name: 'heavy',
      hosts: 50,
      intervalMs: 1000,
      durationS: 30,
      partitions: 6,
      tenant: 'loadtest',
    })
    expect(Object.keys(SCENARIOS)).toEqual(['smoke', 'light', 'medium', 'heavy', 'stress', 'spike', 'soak'])
  })

  it('lists the valid scenarios for an unknown one', () => {
    expect(() => resolveOptions({ scenario: 'huge', out: '/tmp/x' })).toThrow(
      /unknown scenario "huge"; valid: smoke .*soak/,
    )
  })

  it('names every bad figure at once, before anything starts', () => {
    let message = ''
    try {
      resolveOptions({
        scenario: 'smoke',
        hosts: '0',
        'interval-ms': '5',
        'duration-s': '1.5',
        brokers: 'nohost',
        tenant: 'Bad!',
      })
    } catch (err) {
      message = String(err)
    }
    expect(message).toContain('--out DIR is required')
    expect(message).toContain('--hosts must be from 1 to 200000, got 0')
    expect(message).toContain('--interval-ms must be from 10 to 60000, got 5')
    expect(message).toContain('--duration-s must be a whole number')
    expect(message).toContain('--brokers must be host:port')
    expect(message).toContain('--tenant "Bad!" is not a tenant name')
  })

  it('refuses a fleet one simulator cannot encode', () => {
    expect(() =>
      resolveOptions({ scenario: 'smoke', out: '/tmp/x', hosts: '200000', 'interval-ms': '10' }),
    ).toThrow(/host-ticks\/s/)
  })
})
