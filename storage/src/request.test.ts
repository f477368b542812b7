import { describe, expect, it } from 'vitest'
import { caught } from '../../test/support/caught.ts'
import { preludeOf } from './chdb-executor.ts'
import { statementOf } from './request.ts'

const search = (entries: [string, string][]): URLSearchParams => new URLSearchParams(entries)

describe('statementOf', () => {
  it('joins the query parameter and the body, as an INSERT and its data', () => {
    const s = statementOf('POST', search([['query', 'INSERT INTO t FORMAT TSV']]), 'a\t1\n')
    expect(s.sql).toBe('INSERT INTO t FORMAT TSV\na\t1\n')
    // The parameter before a body is what the single-statement check proves alone, when it is an INSERT.
    expect(s.head).toBe('INSERT INTO t FORMAT TSV')
    expect(statementOf('POST', search([]), 'SELECT 1')).toMatchObject({ sql: 'SELECT 1', head: undefined })
    expect(statementOf('GET', search([['query', 'SELECT 1']]), '').head).toBeUndefined()
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
