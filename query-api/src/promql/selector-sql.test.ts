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
    expect(selectorWhere([{ name: 'instance', op: '=', value: 'nope' }], 'acme', hosts, '').possible).toBe(
      false,
    )
  })

  it('names a bad regular expression', () => {
    expect(() => selectorWhere([{ name: 'a', op: '=~', value: '(' }], 'acme', hosts, '')).toThrow(
      /invalid regular expression "\("/,
    )
  })
})
