import { describe, expect, it } from 'vitest'
import {
  MAX_CONTROL_GROUPS,
  controlSubjects,
  controlTargetSubject,
  controlTargetProblem,
  controlTargetsProblem,
  subjectToken,
} from './control-subjects.ts'

describe('control subjects', () => {
  it('listens on its host, its groups and its tenant, with subject-safe tokens', () => {
    expect(controlSubjects('acme', 'web-1.example.com', ['eu west', 'db'])).toEqual([
      'procstream.control.acme.host.web-1_example_com',
      'procstream.control.acme.group.eu_west',
      'procstream.control.acme.group.db',
      'procstream.control.acme.all',
    ])
    expect(subjectToken('a.*>b')).toBe('a___b')
    expect(subjectToken('')).toBe('_')
  })
})

describe('host and group names the gateway polls for', () => {
  it.each(['web-1.example.com', '0123456789abcdef0123456789abcdef', 'a', 'node_7:eu@x', 'x'.repeat(253)])(
    'accepts host %j',
    (host) => {
      expect(controlTargetProblem('host', host)).toBeUndefined()
    },
  )

  it.each([
    ['', /must not be empty/],
    ['x'.repeat(254), /254 characters long; at most 253/],
    ['a b', /printable ASCII without spaces or commas/],
    ['a,b', /printable ASCII without spaces or commas/],
    ['tab\there', /printable ASCII/],
    ['new\nline', /printable ASCII/],
    ['héte', /printable ASCII/],
    ['nul\u0000', /printable ASCII/],
  ])('refuses host %j', (host, message) => {
    expect(controlTargetProblem('host', host)).toMatch(message)
  })

  it('bounds groups in length and number, and names every problem at once', () => {
    expect(controlTargetProblem('group', 'g'.repeat(64))).toBeUndefined()
    expect(controlTargetProblem('group', 'g'.repeat(65))).toMatch(/at most 64/)
    const many = Array.from({ length: MAX_CONTROL_GROUPS + 1 }, (_, i) => `g${String(i)}`)
    expect(controlTargetsProblem('h', many)).toMatch(/17 groups given; at most 16/)
    expect(controlTargetsProblem('h', many.slice(1))).toBeUndefined()
    expect(controlTargetsProblem('a b', ['ok', ''])).toBe(
      'host "a b" must be printable ASCII without spaces or commas; group must not be empty',
    )
  })

  it('sends a request to exactly the subject an agent of that host or group listens on', () => {
    const [host, group, all] = controlSubjects('acme', 'db.1>', ['web*'])
    expect(controlTargetSubject('acme', { host: 'db.1>' })).toBe(host)
    expect(controlTargetSubject('acme', { group: 'web*' })).toBe(group)
    expect(controlTargetSubject('acme', { all: true })).toBe(all)
    expect(controlTargetSubject('a.b', { host: 'h' })).toBe('procstream.control.a_b.host.h')
  })
})
