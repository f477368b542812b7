import { describe, expect, it } from 'vitest'
import {
  DEFAULT_EXPOSITION_LIMITS,
  ExpositionError,
  histogramQuantile,
  parseExposition,
  samplesOf,
  sumOf,
} from './prometheus-parse.ts'
import { formatMetricPoints } from './prometheus-text.ts'

describe('parseExposition', () => {
  it('reads what formatMetricPoints writes, escapes, NaN, infinities and timestamps included', () => {
    const text = formatMetricPoints(
      [
        { name: 'a_total', labels: { reason: 'x"y\\z\nw', code: '200' }, value: 3 },
        { name: 'b', labels: {}, value: Number.POSITIVE_INFINITY },
        { name: 'c', labels: {}, value: Number.NaN },
        { name: 'd', labels: {}, value: -1.5e-7 },
      ],
      (name) => (name === 'a_total' ? { type: 'counter', help: 'a "help" \\ line' } : undefined),
    )
    const page = parseExposition(`${text}e{le="+Inf"} -Inf 1712345678000\n\r\n`)
    expect(page.types.get('a_total')).toBe('counter')
    expect(samplesOf(page, 'a_total')).toEqual([
      { name: 'a_total', labels: { code: '200', reason: 'x"y\\z\nw' }, value: 3 },
    ])
    expect(sumOf(page, 'b')).toBe(Number.POSITIVE_INFINITY)
    expect(sumOf(page, 'c')).toBeNaN()
    expect(sumOf(page, 'd')).toBe(-1.5e-7)
    expect(samplesOf(page, 'e', { le: '+Inf' })[0]?.value).toBe(Number.NEGATIVE_INFINITY)
    expect(sumOf(page, 'missing')).toBeUndefined()
  })

  it.each([
    ['a value that is not a number', 'x 12abc'],
    ['no value', 'x{a="1"}'],
    ['an unterminated label value', 'x{a="1} 2'],
    ['a bad escape', 'x{a="\\t"} 2'],
    ['a label given twice', 'x{a="1",a="2"} 2'],
    ['no metric name', '{a="1"} 2'],
    ['HTML', '<html><body>502 Bad Gateway</body></html>'],
    ['too many fields', 'x 1 2 3'],
    ['an unknown type', '# TYPE x thing'],
  ])('refuses %s with an ExpositionError naming the line', (_what, line) => {
    expect(() => parseExposition(`ok 1\n${line}\n`)).toThrow(ExpositionError)
    expect(() => parseExposition(`ok 1\n${line}\n`)).toThrow(/^line 2: /)
  })

  it('stops at its limits before doing the work', () => {
    const huge = 'x 1\n'.repeat(DEFAULT_EXPOSITION_LIMITS.maxChars / 4 + 1)
    expect(() => parseExposition(huge)).toThrow(/over 4194304 characters/)
    const limits = { ...DEFAULT_EXPOSITION_LIMITS, maxSamples: 3, maxLineChars: 100, maxLabels: 2 }
    expect(() => parseExposition('a 1\nb 2\nc 3\nd 4\n', limits)).toThrow(/more than 3 samples/)
    expect(() => parseExposition(`a{x="${'y'.repeat(200)}"} 1\n`, limits)).toThrow(/over 100 characters/)
    expect(() => parseExposition('a{x="1",y="2",z="3"} 1\n', limits)).toThrow(/more than 2 labels/)
    // Comments count against the line limit too, but not against the samples.
    expect(parseExposition('# a\n# b\n# c\n# d\na 1\n', limits).samples).toHaveLength(1)
  })
})

describe('histogramQuantile', () => {
  it('interpolates inside the bucket as Prometheus does', () => {
    const buckets = [
      { le: 0.5, count: 0 },
      { le: 1, count: 50 },
      { le: 2, count: 100 },
      { le: Number.POSITIVE_INFINITY, count: 100 },
    ]
    expect(histogramQuantile(0.5, buckets)).toBe(1)
    expect(histogramQuantile(0.75, buckets)).toBe(1.5)
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(1.98)
  })

  it('answers the last finite bound past it, and nothing without observations', () => {
    expect(
      histogramQuantile(0.99, [
        { le: 1, count: 1 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ]),
    ).toBe(1)
    expect(histogramQuantile(0.5, [{ le: Number.POSITIVE_INFINITY, count: 0 }])).toBeUndefined()
    expect(histogramQuantile(0.5, [{ le: 1, count: 3 }])).toBeUndefined()
  })
})
