import { describe, expect, it } from 'vitest'
import { liveSubject, subjectToken } from '#schemas/src/live.ts'

describe('live subjects', () => {
  it('give each tenant and host one subject token, whatever characters the names hold', () => {
    expect(liveSubject('acme', 'web-1')).toBe('procstream.live.acme.web-1')
    expect(liveSubject('a.b', 'h*>')).toBe('procstream.live.a%2eb.h%2a%3e')
    expect(subjectToken('50% off x')).toBe('50%25%20off%20x')
    expect(decodeURIComponent(subjectToken('a.b*c>d e%'))).toBe('a.b*c>d e%')
  })
})
