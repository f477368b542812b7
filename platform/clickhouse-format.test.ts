import { describe, expect, it } from 'vitest'
import { formatterHazard, MAX_BETWEEN } from './clickhouse-format.ts'

describe('formatterHazard', () => {
  it('lets a few BETWEENs through and refuses more, wherever the word stands', () => {
    const between = (n: number): string => Array.from({ length: n }, () => 'x BETWEEN 1 AND 2').join(' AND ')
    expect(formatterHazard(`SELECT ${between(MAX_BETWEEN)}`)).toBeUndefined()
    expect(formatterHazard(`SELECT ${between(MAX_BETWEEN + 1)}`)).toMatch(/appears 9 times; at most 8/)
    // In strings, comments and names alike, and in any case: an upper bound, never an undercount.
    const hidden = `SELECT 'between' /* Between */ -- bEtWeEn\n, \`between\` ${between(MAX_BETWEEN - 3)}`
    expect(formatterHazard(hidden)).toMatch(/appears 9 times/)
  })
})
