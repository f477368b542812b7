import { describe, expect, it } from 'vitest'
import { selectorWhere } from './selector-sql.ts'

const hosts = new Map([
  ['h1', 'web-1'],
  ['h2', 'db-1'],
])

describe('selectorWhere', () => {
  it('always starts with the tenant and passes every user value as a parameter', () => {
    const w = selectorWhere(
      [
        { name: '__name__', op: '=', value: "x' OR 1=1 --" },
        { name: 'device', op: '=~', value: 'eth.*' },
        { name: "mode'", op: '!=', value: 'idle' },
      ],
      'acme',
      hosts,
      'p_',
    )
    expect(w.sql.startsWith('tenant = {p_tenant:String} AND ')).toBe(true)
    expect(w.sql).not.toContain("x'")
    expect(w.sql).not.toContain('eth')
    expect(w.params).toMatchObject({
      p_tenant: 'acme',
      p_v0: "x' OR 1=1 --",
      p_v1: '^(?s:eth.*)$',
      p_n2: "mode'",
    })
  })

  it('matches instance on host names and job on the constant "node"', () => {
    const w = selectorWhere([{ name: 'instance', op: '=~', value: 'web-.*' }], 'acme', hosts, '')
    expect(w.params.h0).toEqual(['h1'])
    expect(selectorWhere([{ name: 'job', op: '=', value: 'other' }], 'acme', hosts, '').possible).toBe(false)
  })

  it('matches instance on the host id for a host without a known name', () => {
    // Such a host is offered as its id (labels.ts), so selecting that value must find it.
    const w = selectorWhere([{ name: 'instance', op: '=', value: 'h-old' }], 'acme', hosts, '')
    expect(w.possible).toBe(true)
    expect(w.params.h0).toEqual([])
    expect(w.params.k0).toEqual(['h1', 'h2'])
    expect(w.params.v0).toBe('h-old')
    expect(w.sql).toContain(
      '(host IN {h0:Array(String)} OR (host NOT IN {k0:Array(String)} AND host = {v0:String}))',
    )
    const re = selectorWhere([{ name: 'instance', op: '!~', value: 'web.*' }], 'acme', hosts, '')
    expect(re.params.h0).toEqual(['h2'])
    expect(re.params.v0).toBe('^(?s:web.*)$')
    expect(re.sql).toContain('NOT match(host, {v0:String})')
  })

  it('names a bad regular expression', () => {
    expect(() => selectorWhere([{ name: 'a', op: '=~', value: '(' }], 'acme', hosts, '')).toThrow(
      /invalid regular expression "\("/,
    )
  })
})
