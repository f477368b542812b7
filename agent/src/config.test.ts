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

  it('reads the spool settings, off by default, and validates them', () => {
    expect(readAgentConfig([], {})).toMatchObject({
      spoolDir: undefined,
      spoolMaxBytes: 256 * 1024 * 1024,
      spoolFsync: 'interval',
      spoolFsyncIntervalMs: 1000,
    })
    expect(
      readAgentConfig(['--spool-dir', '/var/spool/ps', '--spool-fsync', 'always'], {
        AGENT_SPOOL_MAX_BYTES: '2097152',
      }),
    ).toMatchObject({ spoolDir: '/var/spool/ps', spoolFsync: 'always', spoolMaxBytes: 2_097_152 })
    expect(() => readAgentConfig(['--spool-fsync', 'sometimes', '--spool-max-bytes', '10'], {})).toThrow(
      /AGENT_SPOOL_MAX_BYTES=10 is below[\s\S]*AGENT_SPOOL_FSYNC="sometimes" is not one of always, interval, never/,
    )
  })

  it('reads batching, vmstat fields, per-family intervals and the metrics address, naming bad ones', () => {
    const defaults = readAgentConfig([], {})
    expect(defaults).toMatchObject({
      batchMs: 1000,
      familyIntervals: {},
      metricsListen: { host: '127.0.0.1', port: 9464 },
    })
    expect(defaults !== 'help' && defaults.vmstatFields.test('pgmajfault')).toBe(true)
    expect(defaults !== 'help' && defaults.vmstatFields.test('nr_free_pages')).toBe(false)
    const cfg = readAgentConfig(
      ['--family-intervals', 'cpu=100, filesystem=60000,vmstat=off', '--metrics-listen', 'off'],
      { AGENT_BATCH_MS: '0', AGENT_VMSTAT_FIELDS: '^nr_' },
    )
    expect(cfg).toMatchObject({
      batchMs: 0,
      metricsListen: undefined,
      familyIntervals: {
        cpu: { enabled: true, intervalMs: 100 },
        filesystem: { enabled: true, intervalMs: 60_000 },
        vmstat: { enabled: false },
      },
    })
    expect(cfg !== 'help' && cfg.vmstatFields.test('nr_free_pages')).toBe(true)
    expect(() =>
      readAgentConfig(
        ['--family-intervals', 'gpu=100,cpu=5,disk=fast', '--vmstat-fields', '(', '--metrics-listen', ':x'],
        {},
      ),
    ).toThrow(
      /"gpu=100": unknown family[\s\S]*"cpu=5": the interval must be 10 to 300000 ms[\s\S]*"disk=fast"[\s\S]*AGENT_VMSTAT_FIELDS="\(" is not a valid[\s\S]*AGENT_METRICS_LISTEN=":x" is not host:port/,
    )
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
      '--spool-dir',
      '--spool-max-bytes',
      '--spool-fsync',
      '--batch-ms',
      '--vmstat-fields',
      '--family-intervals',
      '--metrics-listen',
    ]) {
      expect(help).toContain(flag)
    }
    expect(help).toContain('KAFKA_BROKERS')
    expect(readAgentConfig(['--help'], {})).toBe('help')
  })
})
