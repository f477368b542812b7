import { describe, expect, it } from 'vitest'
import { formatSampleValue, instantResult, matrixResult } from './format.ts'

describe('formatSampleValue', () => {
  it('writes numbers as Go strconv.FormatFloat(v, "f", -1, 64) does', () => {
    expect(formatSampleValue(0)).toBe('0')
    expect(formatSampleValue(1.5)).toBe('1.5')
    expect(formatSampleValue(-2)).toBe('-2')
    expect(formatSampleValue(1e21)).toBe('1000000000000000000000')
    expect(formatSampleValue(1.25e22)).toBe('12500000000000000000000')
    expect(formatSampleValue(1e-7)).toBe('0.0000001')
    expect(formatSampleValue(-1.5e-8)).toBe('-0.000000015')
    expect(formatSampleValue(NaN)).toBe('NaN')
    expect(formatSampleValue(Infinity)).toBe('+Inf')
    expect(formatSampleValue(-Infinity)).toBe('-Inf')
  })
})

describe('result shapes', () => {
  it('gives a matrix with only the times a series has values, in seconds', () => {
    const r = matrixResult(
      { kind: 'vector', series: [{ labels: { a: '1' }, values: [1, null, 3] }] },
      [1000, 2000, 3500],
    )
    expect(r).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: { a: '1' },
          values: [
            [1, '1'],
            [3.5, '3'],
          ],
        },
      ],
    })
  })

  it('orders an instant vector only when sort or sort_desc asked', () => {
    const v = {
      kind: 'vector' as const,
      series: [
        { labels: { a: '1' }, values: [2] },
        { labels: { a: '2' }, values: [1] },
        { labels: { a: '3' }, values: [null] },
      ],
    }
    expect(instantResult(v, 5000, 'asc').result).toEqual([
      { metric: { a: '2' }, value: [5, '1'] },
      { metric: { a: '1' }, value: [5, '2'] },
    ])
    expect(instantResult({ kind: 'scalar', values: [4] }, 5000, undefined)).toEqual({
      resultType: 'scalar',
      result: [5, '4'],
    })
  })
})
