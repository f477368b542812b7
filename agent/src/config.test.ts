import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '#platform/errors.ts'
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

  it('takes node_exporter’s path settings, with its defaults', () => {
    expect(readAgentConfig(['--once'], {})).toMatchObject({ sysfs: '/sys', udevData: '/run/udev/data' })
    expect(
      readAgentConfig(['--once', '--sysfs', '/host/sys', '--udev-data', '/host/udev'], { SYSFS: '/env/sys' }),
    ).toMatchObject({ sysfs: '/host/sys', udevData: '/host/udev' })
    expect(readAgentConfig(['--once'], { SYSFS: '/env/sys', UDEV_DATA: '/env/udev' })).toMatchObject({
      sysfs: '/env/sys',
      udevData: '/env/udev',
    })
  })

  it('reads collector options, repeated or one per line, and names unknown options and bad expressions', () => {
    const cfg = readAgentConfig(
      ['--once'].concat([
        '--collector-option',
        'netclass.ignored-devices=^(veth|docker).*$',
        '--collector-option',
        'netclass.ignore-invalid-speed=true',
      ]),
      {},
    )
    expect(cfg).toMatchObject({
      collectorOptions: {
        'netclass.ignored-devices': '^(veth|docker).*$',
        'netclass.ignore-invalid-speed': 'true',
      },
    })
    expect(
      readAgentConfig(['--once'], {
        AGENT_COLLECTOR_OPTIONS: 'netclass.ignored-devices=^lo$\nhwmon.chip-include=coretemp',
      }),
    ).toMatchObject({
      collectorOptions: { 'netclass.ignored-devices': '^lo$', 'hwmon.chip-include': 'coretemp' },
    })
    expect(() => readAgentConfig(['--once', '--collector-option', 'netclass.bogus=1'], {})).toThrow(
      /AGENT_COLLECTOR_OPTIONS entry "netclass.bogus=1": not <collector>.<option>=<value> with a known option/,
    )
    expect(() =>
      readAgentConfig(['--once', '--collector-option', 'netclass.ignored-devices=(('], {}),
    ).toThrow(/not a regular expression/)
    expect(() =>
      readAgentConfig(['--once', '--collector-option', 'netclass.ignore-invalid-speed=yes'], {}),
    ).toThrow(/must be true or false/)
  })

  it('switches collectors on and off by name, as families', () => {
    expect(
      readAgentConfig(['--once', '--family-intervals', 'interrupts=on,netstat=off,hwmon=30000'], {}),
    ).toMatchObject({
      familyIntervals: {
        interrupts: { enabled: true },
        netstat: { enabled: false },
        hwmon: { enabled: true, intervalMs: 30_000 },
      },
    })
  })

  it('takes control through the gateway unless told not to', () => {
    expect(readAgentConfig([], {})).toMatchObject({ gatewayControl: true })
    expect(readAgentConfig(['--gateway-control', 'off'], {})).toMatchObject({ gatewayControl: false })
    expect(readAgentConfig([], { AGENT_GATEWAY_CONTROL: 'off' })).toMatchObject({ gatewayControl: false })
    expect(() => readAgentConfig(['--gateway-control', 'maybe'], {})).toThrow(
      /AGENT_GATEWAY_CONTROL="maybe" is not one of on, off/,
    )
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

  describe('the ingest gateway', () => {
    const KEY = 'psk_0123456789abcdef0123456789abcdef'
    const dir = mkdtempSync(join(tmpdir(), 'agent-config-'))
    const keyFile = join(dir, 'key')
    writeFileSync(keyFile, `\n  ${KEY}\n`)
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true })
    })
    /** The ConfigError's message, checked never to carry the key. */
    function problemsOf(argv: string[], env: Record<string, string> = {}): string {
      try {
        readAgentConfig(argv, env)
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        const message = (err as ConfigError).message
        expect(message).not.toContain(KEY)
        return message
      }
      throw new Error('expected a ConfigError')
    }

    it('is off by default: records go to Kafka', () => {
      expect(readAgentConfig([], {})).toMatchObject({ ingest: undefined, brokers: ['127.0.0.1:9092'] })
    })

    it('takes the URL with a key from --key, --key-file (trimmed) or their environment variables', () => {
      const url = 'https://ingest.example.com:8443'
      expect(readAgentConfig(['--ingest', url, '--key', KEY], {})).toMatchObject({
        ingest: { url, key: KEY },
      })
      expect(readAgentConfig(['--ingest', url, '--key-file', keyFile], {})).toMatchObject({
        ingest: { url, key: KEY },
      })
      expect(
        readAgentConfig([], { AGENT_INGEST_URL: 'http://127.0.0.1:8081', AGENT_KEY_FILE: keyFile }),
      ).toMatchObject({ ingest: { url: 'http://127.0.0.1:8081', key: KEY } })
      expect(readAgentConfig([], { AGENT_INGEST_URL: url, AGENT_KEY: KEY })).toMatchObject({
        ingest: { url, key: KEY },
      })
    })

    it('needs a key, and names the flags that give one', () => {
      expect(problemsOf(['--ingest', 'http://127.0.0.1:8081'])).toMatch(
        /--ingest \(AGENT_INGEST_URL\) needs a key: give --key-file PATH \(AGENT_KEY_FILE\) or --key KEY/,
      )
      expect(problemsOf(['--ingest', 'http://gw:8081', '--key-file', join(dir, 'missing')])).toMatch(
        /AGENT_KEY_FILE=".*missing" cannot be read \(ENOENT\)/,
      )
      const empty = join(dir, 'empty')
      writeFileSync(empty, ' \n')
      expect(problemsOf(['--ingest', 'http://gw:8081', '--key-file', empty])).toMatch(
        /AGENT_KEY_FILE=".*empty" is empty/,
      )
    })

    it('refuses Kafka brokers, two keys, a key alone and a bad URL, never quoting the key', () => {
      expect(problemsOf(['--ingest', 'http://gw:8081', '--key', KEY, '--brokers', 'k1:9092'])).toMatch(
        /--ingest \(AGENT_INGEST_URL\) and --brokers \(KAFKA_BROKERS\) are both set: choose one/,
      )
      expect(problemsOf(['--ingest', 'http://gw:8081', '--key', KEY], { KAFKA_BROKERS: 'k1:9092' })).toMatch(
        /choose one/,
      )
      expect(problemsOf(['--ingest', 'http://gw:8081', '--key', KEY, '--key-file', keyFile])).toMatch(
        /--key \(AGENT_KEY\) and --key-file \(AGENT_KEY_FILE\) are both set: choose one/,
      )
      expect(problemsOf(['--key', KEY])).toMatch(
        /--key \/ --key-file .* are for --ingest \(AGENT_INGEST_URL\), which is not set/,
      )
      expect(problemsOf(['--ingest', 'ftp://gw', '--key', KEY])).toMatch(
        /AGENT_INGEST_URL="ftp:\/\/gw" must use http: or https:/,
      )
      expect(problemsOf(['--ingest', 'https://agent:secret@gw', '--key', KEY])).toMatch(
        /AGENT_INGEST_URL must not carry credentials/,
      )
      expect(problemsOf(['--ingest', 'http://gw:8081', '--key', `${KEY} ${KEY}`])).toMatch(
        /the ingest key \(--key \/ AGENT_KEY\) must be printable ASCII without spaces/,
      )
    })

    it('reads per-tenant Kafka SCRAM credentials for direct produce, and refuses them with --ingest', () => {
      const password = join(dir, 'kafka-password')
      writeFileSync(password, 'tenant-secret\n')
      const config = readAgentConfig(
        [
          '--brokers',
          'k1:9092',
          '--sasl-mechanism',
          'scram-sha-512',
          '--sasl-username',
          'acme',
          '--sasl-password-file',
          password,
        ],
        {},
      )
      expect(config).toMatchObject({
        kafkaSecurity: { sasl: { mechanism: 'scram-sha-512', username: 'acme', password: 'tenant-secret' } },
      })
      const refused = problemsOf(['--ingest', 'http://gw:8081', '--key', KEY], {
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'acme',
        KAFKA_SASL_PASSWORD: 'tenant-secret',
      })
      expect(refused).toMatch(/KAFKA_SASL_\*, KAFKA_TLS\*\) are for --brokers/)
      expect(refused).not.toContain('tenant-secret')
    })
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
      '--ingest',
      '--key-file',
      '--key',
      '--sasl-mechanism',
      '--sasl-username',
      '--sasl-password-file',
      '--kafka-tls',
      '--kafka-ca-file',
    ]) {
      expect(help).toContain(flag)
    }
    for (const env of [
      'KAFKA_BROKERS',
      'AGENT_INGEST_URL',
      'AGENT_KEY_FILE',
      'AGENT_KEY',
      'KAFKA_SASL_MECHANISM',
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD_FILE',
      'KAFKA_SASL_PASSWORD',
      'KAFKA_TLS_CA_FILE',
    ])
      expect(help).toContain(env)
    expect(readAgentConfig(['--help'], {})).toBe('help')
  })
})

describe('agent config: NATS control', () => {
  const dir = mkdtempSync(join(tmpdir(), 'procstream-agent-nats-'))
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  const credential = join(dir, 'globex.json')
  writeFileSync(credential, JSON.stringify({ tenant: 'globex', user: 'tenant-globex', password: 'pw' }), {
    mode: 0o600,
  })

  it('takes its tenant, for control and the envelope, from the credential', () => {
    const cfg = readAgentConfig(['--nats', 'nats://n:4222', '--nats-credentials', credential], {})
    expect(cfg).toMatchObject({ tenant: 'globex', nats: { tenant: 'globex', user: 'tenant-globex' } })
  })

  it('refuses a --tenant that names another tenant than the credential, naming both', () => {
    expect(() =>
      readAgentConfig(['--tenant', 'acme', '--nats', 'nats://n:4222', '--nats-credentials', credential], {}),
    ).toThrow(/--tenant \(AGENT_TENANT\) is "acme" but the NATS credential is tenant "globex"'s/)
  })

  it('refuses NATS without a credential, and the service credential', () => {
    expect(() => readAgentConfig(['--nats', 'nats://n:4222'], {})).toThrow(/no NATS credential/)
    expect(() =>
      readAgentConfig(['--nats', 'nats://n:4222'], { NATS_USER: 'procstream', NATS_PASSWORD: 'pw' }),
    ).toThrow(/not a tenant's/)
  })
})
