import { describe, expect, it } from 'vitest'
import { forEachLine, indexIn, parseDecimal, parseInteger, tokenize } from './parse-util.ts'

describe('parseInteger', () => {
  it('reads the kernel’s decimal integers', () => {
    expect(parseInteger('0')).toBe(0)
    expect(parseInteger('1664039048')).toBe(1664039048)
    expect(parseInteger('-12')).toBe(-12)
    expect(parseInteger('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('refuses what Number() would quietly accept, and values an Avro long in JS cannot hold exactly', () => {
    for (const token of [
      '',
      '-',
      ' 7',
      '7 ',
      '0x10',
      '1e3',
      '1.5',
      '+1',
      'NaN',
      'Infinity',
      '9007199254740993',
    ]) {
      expect(parseInteger(token), token).toBeUndefined()
    }
  })
})

describe('parseDecimal', () => {
  it('reads plain fractions only', () => {
    expect(parseDecimal('0.19')).toBe(0.19)
    expect(parseDecimal('12')).toBe(12)
    for (const token of ['', '.5', '1.', '1e3', '0x1', 'abc'])
      expect(parseDecimal(token), token).toBeUndefined()
  })
})

describe('tokenize, indexIn, forEachLine', () => {
  it('splits on any whitespace within the given range', () => {
    expect(tokenize('  a\tb  c \n d')).toEqual(['a', 'b', 'c', 'd'])
    expect(tokenize('xx a b yy', 2, 7)).toEqual(['a', 'b'])
    expect(tokenize('   ')).toEqual([])
  })

  it('looks for a character only inside the range', () => {
    expect(indexIn('ab|cd', '|', 0, 5)).toBe(2)
    expect(indexIn('ab|cd', '|', 0, 2)).toBe(-1)
  })

  it('visits every line, without an empty one after the final newline', () => {
    const seen: string[] = []
    const text = 'one\n\nthree\n'
    forEachLine(text, (start, end) => seen.push(text.slice(start, end)))
    expect(seen).toEqual(['one', '', 'three'])
  })
})
