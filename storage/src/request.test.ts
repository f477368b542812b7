import { describe, expect, it } from 'vitest'
import { caught } from '#test/support/caught.ts'
import { preludeOf } from './chdb-executor.ts'
import { sqlOf, statementOf as statementOfBytes } from './request.ts'

const search = (entries: [string, string][]): URLSearchParams => new URLSearchParams(entries)
const statementOf = (
  method: string,
  params: URLSearchParams,
  body: string,
): ReturnType<typeof statementOfBytes> => statementOfBytes(method, params, Buffer.from(body, 'utf8'))

describe('statementOf', () => {
  it('joins the query parameter and the body, as an INSERT and its data', () => {
    const s = statementOf('POST', search([['query', 'INSERT INTO t FORMAT TSV']]), 'a\t1\n')
    expect(sqlOf(s)).toBe('INSERT INTO t FORMAT TSV\na\t1\n')
    // The parameter before a body is what the single-statement check proves alone, when it is an INSERT.
    expect(s.head).toBe('INSERT INTO t FORMAT TSV')
    const body = statementOf('POST', search([]), 'SELECT 1')
    expect(body.head).toBeUndefined()
    expect(sqlOf(body)).toBe('SELECT 1')
    expect(statementOf('GET', search([['query', 'SELECT 1']]), '').head).toBeUndefined()
  })

  it('keeps the body as the bytes that came, whatever they are', () => {
    const bytes = Buffer.from([0x01, 0x0a, 0x0a, 0xff, 0xfe, 0x00, 0xc3])
    const s = statementOfBytes('POST', search([['query', 'INSERT INTO t FORMAT RowBinary']]), bytes)
    expect(s.body.equals(bytes)).toBe(true)
    expect(s.head).toBe('INSERT INTO t FORMAT RowBinary')
  })

  it('sorts parameters, settings and the HTTP layer’s own', () => {
    const s = statementOf(
      'POST',
      search([
        ['query_id', 'q1'],
        ['param_tenant', 'acme'],
        ['max_threads', '2'],
        ['enable_http_compression', '1'],
        ['wait_end_of_query', '1'],
        ['default_format', 'JSONEachRow'],
        ['database', 'procstream'],
      ]),
      'SELECT {tenant:String}',
    )
    expect([...s.params]).toEqual([['tenant', 'acme']])
    expect([...s.settings]).toEqual([['max_threads', '2']])
    expect(s).toMatchObject({ format: 'JSONEachRow', database: 'procstream', readonly: false })
    expect(statementOf('GET', search([['query', 'SELECT 1']]), '').readonly).toBe(true)
  })

  it('refuses what it does not implement and names that are not identifiers', () => {
    expect(caught(() => statementOf('POST', search([['session_id', 'x']]), 'SELECT 1'))).toMatchObject({
      code: 'BAD_ARGUMENTS',
      message: expect.stringMatching(/^session_id: HTTP sessions/) as unknown,
    })
    expect(caught(() => statementOf('POST', search([['max threads', '1']]), 'SELECT 1')).message).toMatch(
      /setting name "max threads"/,
    )
    expect(caught(() => statementOf('POST', search([['param_a;b', '1']]), 'SELECT 1')).message).toMatch(
      /parameter name "a;b"/,
    )
    expect(caught(() => statementOf('POST', search([['database', 'x; DROP']]), 'SELECT 1')).message).toMatch(
      /database/,
    )
    expect(caught(() => statementOf('POST', search([]), '  ')).message).toMatch(/no query/)
  })
})

describe('preludeOf', () => {
  it('quotes values so that no value can end its SET statement', () => {
    const s = statementOf(
      'GET',
      search([
        ['param_x', "it's \\'; DROP TABLE t; --"],
        ['log_comment', "a'b"],
      ]),
      'SELECT {x:String}',
    )
    expect(preludeOf(s)).toEqual([
      "SET param_x = 'it\\'s \\\\\\'; DROP TABLE t; --'",
      "SET log_comment = 'a\\'b'",
      'SET readonly = 2',
    ])
  })
})
