import { describe, expect, it } from 'vitest'
import { inlineQueryParams } from './chdb-query-params.ts'

describe('inlineQueryParams', () => {
  it('writes each placeholder as a literal cast to its declared type', () => {
    expect(
      inlineQueryParams(
        'SELECT {s:String}, {i:Int64}, {u:UInt64}, {d:Date}, {f:Float64}, {a:Array(String)}, {ids:Array(UInt64)} FROM t LIMIT {limit:UInt64}',
        {
          s: "it's",
          i: -1_796_669_040_000_000,
          u: 18_446_744_073_709_551_615n,
          d: '2026-12-07',
          f: 0.25,
          a: ['a', 'b\\c'],
          ids: ['264707014216610015', 7n],
          limit: 10,
        },
      ),
    ).toBe(
      "SELECT CAST('it\\'s' AS String), CAST(-1796669040000000 AS Int64), CAST(18446744073709551615 AS UInt64), " +
        "CAST('2026-12-07' AS Date), CAST(0.25 AS Float64), CAST(['a', 'b\\\\c'] AS Array(String)), " +
        'CAST([264707014216610015, 7] AS Array(UInt64)) FROM t LIMIT CAST(10 AS UInt64)',
    )
  })

  it('keeps a value one string literal, whatever it holds', () => {
    const sql = inlineQueryParams('SELECT 1 WHERE tenant = {t:String}', {
      t: "x' OR 1=1 --\n{t:String}\u0000\\",
    })
    expect(sql).toBe("SELECT 1 WHERE tenant = CAST('x\\' OR 1=1 --\\x0a{t:String}\\x00\\\\' AS String)")
  })

  it('leaves braces inside quoted strings and names alone', () => {
    expect(
      inlineQueryParams(
        "SELECT '{x:String}', `{x:String}`, \"it''s {x:String}\", 'a\\'{x:String}' , {x:String}",
        {
          x: 'v',
        },
      ),
    ).toBe("SELECT '{x:String}', `{x:String}`, \"it''s {x:String}\", 'a\\'{x:String}' , CAST('v' AS String)")
  })

  it.each([
    ['a comment', 'SELECT {x:String} -- no', { x: 'v' }],
    ['a block comment', 'SELECT /* {x:String} */ 1', { x: 'v' }],
    ['a hash comment', "SELECT 1 # it's", {}],
    ['a heredoc', 'SELECT $$a$$, {x:String}', { x: 'v' }],
    ['an unterminated quote', "SELECT 'abc, {x:String}", { x: 'v' }],
    ['a brace that is no placeholder', "SELECT {'a': 1}", {}],
    ['a type it does not write', 'SELECT {x:DateTime64(6)}', { x: '2026-01-01 00:00:00' }],
    ['a missing parameter', 'SELECT {x:String}', {}],
    ['a number as a string', 'SELECT {x:String}', { x: 5 }],
    ['a fraction as an integer', 'SELECT {x:Int64}', { x: 1.5 }],
    ['an unsafe integer', 'SELECT {x:Int64}', { x: 2 ** 60 }],
    ['an integer out of range', 'SELECT {x:UInt32}', { x: -1 }],
    ['a non-finite float', 'SELECT {x:Float64}', { x: Number.NaN }],
    ['a malformed date', 'SELECT {x:Date}', { x: "2026-12-07' OR '" }],
    ['an array of the wrong items', 'SELECT {x:Array(UInt64)}', { x: ['1', 'two'] }],
    ['a scalar for an array', 'SELECT {x:Array(String)}', { x: 'a' }],
  ])('binds instead of writing when the text has %s', (_what, sql, params) => {
    expect(inlineQueryParams(sql, params)).toBeUndefined()
  })
})
