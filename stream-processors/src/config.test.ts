import { describe, expect, it } from 'vitest'
import { ConfigError } from '#platform/errors.ts'
import { readProcessorConfig } from './config.ts'

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    readProcessorConfig(env, '/tmp/x')
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

describe('retention settings', () => {
  it('defaults to 7 days raw, 30 days of 10 s, a year of 1 min and five years of 1 h', () => {
    const c = readProcessorConfig({}, '/tmp/x')
    expect([c.rawTtlDays, c.tier10sTtlDays, c.tier1mTtlDays, c.tier1hTtlDays]).toEqual([7, 30, 365, 1825])
  })

  it('reads each tier from its own variable', () => {
    const c = readProcessorConfig(
      { RAW_TTL_DAYS: '2', ROLLUP_10S_TTL_DAYS: '3', ROLLUP_1M_TTL_DAYS: '4', ROLLUP_1H_TTL_DAYS: '5' },
      '/tmp/x',
    )
    expect([c.rawTtlDays, c.tier10sTtlDays, c.tier1mTtlDays, c.tier1hTtlDays]).toEqual([2, 3, 4, 5])
  })

  it('lets an unset coarser tier follow a longer finer one up', () => {
    const c = readProcessorConfig({ RAW_TTL_DAYS: '400' }, '/tmp/x')
    expect([c.rawTtlDays, c.tier10sTtlDays, c.tier1mTtlDays, c.tier1hTtlDays]).toEqual([400, 400, 400, 1825])
  })

  it('rejects a coarser tier set shorter than the finer one, and bad numbers, all in one message', () => {
    expect(
      problemsOf({ ROLLUP_1M_TTL_DAYS: '10', ROLLUP_10S_TTL_DAYS: 'x', ROLLUP_1H_TTL_DAYS: '3651' }),
    ).toEqual([
      'ROLLUP_10S_TTL_DAYS="x" is not a whole number',
      'ROLLUP_1M_TTL_DAYS=10 is shorter than ROLLUP_10S_TTL_DAYS=30',
      'ROLLUP_1H_TTL_DAYS=3651 is above the maximum 3650',
    ])
    expect(problemsOf({ ROLLUP_10S_TTL_DAYS: '0' })).toEqual([
      'ROLLUP_10S_TTL_DAYS=0 is below the minimum 1',
      'ROLLUP_10S_TTL_DAYS=0 is shorter than RAW_TTL_DAYS=7',
    ])
  })
})

describe('cardinality settings', () => {
  it('refuses a host budget below the per-sample cap', () => {
    expect(
      problemsOf({ TENANT_MAX_SERIES_PER_HOST: '1000', PROCESSOR_MAX_SERIES_PER_ENVELOPE: '2000' }),
    ).toEqual([
      'TENANT_MAX_SERIES_PER_HOST=1000 is below PROCESSOR_MAX_SERIES_PER_ENVELOPE=2000: one sample could pass one cap and fail the other',
    ])
    expect(
      problemsOf({ TENANT_MAX_SERIES_PER_HOST: '2000', PROCESSOR_MAX_SERIES_PER_ENVELOPE: '2000' }),
    ).toEqual([])
  })
})
