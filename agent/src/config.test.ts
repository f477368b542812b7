import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../platform/errors.ts'
import { helpText, readAgentConfig } from './config.ts'

describe('agent config', () => {
  it('lets flags win over the environment', () => {
    const cfg = readAgentConfig(['--interval', '100', '--brokers', 'k1:9092,k2:9092'], {
      AGENT_INTERVAL_MS: '5000',
      AGENT_TENANT: 'acme',
    })
    expect(cfg).toMatchObject({
      intervalMs: 100,
      brokers: ['k1:9092', 'k2:9092'],
      tenant: 'acme',
      format: 'kafka',
    })
  })

  it('prints prometheus by default with --once', () => {
    expect(readAgentConfig(['--once'], {})).toMatchObject({
      once: true,
      format: 'prometheus',
      procfs: '/proc',
    })
  })

  it('rejects out-of-range intervals and unknown formats, naming them', () => {
    expect(() => readAgentConfig(['--interval', '5', '--format', 'xml'], {})).toThrow(ConfigError)
    expect(() => readAgentConfig(['--interval', '5'], {})).toThrow(
      /AGENT_INTERVAL_MS=5 is below the minimum 10/,
    )
    expect(() => readAgentConfig(['--format', 'xml'], {})).toThrow(
      /AGENT_FORMAT="xml" is not one of kafka, prometheus, json/,
    )
    expect(() => readAgentConfig(['--bogus'], {})).toThrow(/bogus/)
  })

  it('documents every flag with its environment variable', () => {
    const help = helpText()
    for (const flag of [
      '--once',
      '--format',
      '--procfs',
      '--interval',
      '--brokers',
      '--topic',
      '--tenant',
      '--host-id',
    ]) {
      expect(help).toContain(flag)
    }
    expect(help).toContain('KAFKA_BROKERS')
    expect(readAgentConfig(['--help'], {})).toBe('help')
  })
})
