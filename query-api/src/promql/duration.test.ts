import { describe, expect, it } from 'vitest'
import { parseDuration, parseStepOrDuration } from './duration.ts'
import { PromQLError } from './errors.ts'

function errorOf(parse: (text: string) => number, text: string): PromQLError {
  try {
    parse(text)
  } catch (err) {
    if (err instanceof PromQLError) return err
    throw err
  }
  throw new Error(`parsed without error: ${text}`)
}

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['250ms', 250],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1y', 365 * 86_400_000],
    ['1y2w3d4h5m6s7ms', 365 * 86_400_000 + 17 * 86_400_000 + 4 * 3_600_000 + 5 * 60_000 + 6_000 + 7],
    ['1m5ms', 60_005],
  ])('%s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each([
    '',
    '5',
    '1.5',
    '1.5m',
    '-5m',
    '5M',
    '1m1h',
    '1h1h',
    '5x',
    ' 5m',
    '5m ',
    '1e3s',
    '99999999999999999999y',
  ])('rejects %j', (text) => {
    const err = errorOf(parseDuration, text)
    expect(err.type).toBe('bad_data')
    expect(err.message).toMatch(
      new RegExp(`^invalid duration ${JSON.stringify(text).replace(/[.*+?^$()[\]\\]/g, '\\$&')}`),
    )
  })
})

describe('parseStepOrDuration', () => {
  it.each([
    ['15', 15_000],
    ['0.5', 500],
    ['.25', 250],
    ['1.1', 1100],
    ['1e1', 10_000],
    ['15s', 15_000],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['0', 0],
    ['-0.0001', 0],
    ['-5', -5000],
  ])('%s', (text, ms) => {
    expect(parseStepOrDuration(text)).toBe(ms)
  })

  it.each(['', 'abc', '1.5m', 'Inf', 'NaN', '1e400', '15 s', '$__interval'])(
    'rejects %j, naming it',
    (text) => {
      const err = errorOf(parseStepOrDuration, text)
      expect(err.type).toBe('bad_data')
      expect(err.message).toContain(`"${text}"`)
    },
  )
})
