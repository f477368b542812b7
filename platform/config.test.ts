import { describe, expect, it } from 'vitest'
import { ConfigReader, redactUrl } from './config.ts'
import { ConfigError } from './errors.ts'

describe('ConfigReader', () => {
  it('reads values with defaults and freezes the result', () => {
    const r = new ConfigReader({ PORT: '9000', FLAG: 'yes', BROKERS: 'a:1, b:2' })
    const cfg = r.done({
      port: r.port('PORT', 8080),
      flag: r.bool('FLAG', false),
      brokers: r.hostPorts('BROKERS'),
    })
    expect(cfg).toEqual({ port: 9000, flag: true, brokers: ['a:1', 'b:2'] })
    expect(Object.isFrozen(cfg)).toBe(true)
  })

  it('names every bad value in one error, without leaking a password from a URL', () => {
    const r = new ConfigReader({
      PORT: '70000',
      N: 'twelve',
      MODE: 'fast',
      BROKERS: 'localhost',
      CH: 'ftp://user:s3cret@host',
    })
    r.port('PORT', 1)
    r.int('N', 1)
    r.oneOf('MODE', ['a', 'b'], 'a')
    r.hostPorts('BROKERS')
    r.url('CH', ['http:'])
    r.requiredString('KEY')
    let caught: unknown
    try {
      r.done({})
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(ConfigError)
    const e = caught as ConfigError
    expect(e.retryable).toBe(false)
    expect(e.problems).toEqual([
      'PORT=70000 is above the maximum 65535',
      'N="twelve" is not a whole number',
      'MODE="fast" is not one of a, b',
      'BROKERS entry "localhost" is not host:port',
      'CH="ftp://user:***@host" must use http:',
      'KEY is required but not set',
    ])
    expect(e.message).not.toContain('s3cret')
  })

  it('reads listen addresses, off, and regular expressions, naming bad ones', () => {
    const r = new ConfigReader({
      A: '0.0.0.0:9464',
      B: '[::1]:0',
      C: 'off',
      D: 'localhost',
      E: '^pg',
      F: '(',
    })
    expect(r.listenAddress('A', 'x')).toEqual({ host: '0.0.0.0', port: 9464 })
    expect(r.listenAddress('B', 'x')).toEqual({ host: '::1', port: 0 })
    expect(r.listenAddress('C', '127.0.0.1:1')).toBeUndefined()
    expect(r.listenAddress('UNSET', '127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 })
    r.listenAddress('D', 'x')
    expect(r.regex('E', /x/).test('pgfault')).toBe(true)
    expect(r.regex('UNSET', /^x$/).source).toBe('^x$')
    r.regex('F', /x/)
    expect(() => r.done({})).toThrow(
      /D="localhost" is not host:port[\s\S]*F="\(" is not a valid regular expression/,
    )
  })

  it('redacts credentials in URLs', () => {
    expect(redactUrl('http://default:pw@ch:8123/')).toBe('http://default:***@ch:8123/')
    expect(redactUrl('http://ch:8123/')).toBe('http://ch:8123/')
  })
})
