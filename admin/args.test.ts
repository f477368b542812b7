import { describe, expect, it } from 'vitest'
import { caught } from '#test/support/caught.ts'
import { expiryFrom, parseAdminArgs } from './args.ts'

describe('admin CLI arguments', () => {
  it('parses each command with the URL and key from flags or the environment', () => {
    expect(parseAdminArgs(['tenant', 'create', 'acme'], {})).toEqual({
      command: { kind: 'tenant-create', name: 'acme' },
      url: 'http://127.0.0.1:8080',
      key: undefined,
      json: false,
    })
    expect(
      parseAdminArgs(['key', 'create', '--tenant', 'acme', '--scopes', 'ingest, read', '--json'], {
        PROCSTREAM_URL: 'https://metrics.example/',
        PROCSTREAM_ADMIN_KEY: 'psk_abcd_k',
      }),
    ).toEqual({
      command: { kind: 'key-create', tenant: 'acme', scopes: ['ingest', 'read'] },
      url: 'https://metrics.example',
      key: 'psk_abcd_k',
      json: true,
    })
    expect(
      parseAdminArgs(['key', 'revoke', 'abc123', '--key', 'k', '--url', 'http://x:1'], {}).command,
    ).toEqual({
      kind: 'key-revoke',
      keyId: 'abc123',
    })
  })

  it('reads expiries as durations from now or as dates', () => {
    const now = Date.parse('2026-11-23T00:00:00Z')
    expect(expiryFrom('30d', now)).toBe('2026-12-23T00:00:00.000Z')
    expect(expiryFrom('12h', now)).toBe('2026-11-23T12:00:00.000Z')
    expect(expiryFrom('2027-01-01', now)).toBe('2027-01-01')
    expect(caught(() => expiryFrom('soon', now)).message).toBe(
      '--expires "soon" is neither a duration (30d, 12h, 45m) nor a date',
    )
  })

  it('names what is missing or unknown', () => {
    expect(caught(() => parseAdminArgs([], {})).message).toBe('no command given')
    expect(caught(() => parseAdminArgs(['tenant', 'delete', 'x'], {})).message).toBe(
      'unknown command: tenant delete x',
    )
    expect(caught(() => parseAdminArgs(['key', 'create', '--scopes', 'read'], {})).message).toBe(
      'key create needs --tenant',
    )
    expect(caught(() => parseAdminArgs(['tenant', 'list', '--bogus'], {})).message).toMatch(
      /Unknown option '--bogus'/,
    )
  })

  it('parses interval show and set with one target and the changes asked for', () => {
    expect(parseAdminArgs(['interval', 'show', '--host', 'web-1'], {}).command).toEqual({
      kind: 'interval-show',
      target: { host: 'web-1' },
    })
    expect(
      parseAdminArgs(['interval', 'show', '--all', '--tenant', 'acme', '--wait-ms', '500'], {}).command,
    ).toEqual({ kind: 'interval-show', target: { all: true }, tenant: 'acme', waitMs: 500 })
    expect(
      parseAdminArgs(['interval', 'set', '--group', 'web', '--interval-ms', '250', '--family', 'cpu=100'], {})
        .command,
    ).toEqual({
      kind: 'interval-set',
      target: { group: 'web' },
      intervalMs: 250,
      families: { cpu: { interval_ms: 100 } },
    })
    expect(
      parseAdminArgs(
        [
          'interval',
          'set',
          '--host',
          'h',
          '--disable',
          'filesystem',
          '--family',
          'disk=500',
          '--enable',
          'disk',
        ],
        {},
      ).command,
    ).toEqual({
      kind: 'interval-set',
      target: { host: 'h' },
      families: { filesystem: { enabled: false }, disk: { interval_ms: 500, enabled: true } },
    })
  })

  it('refuses an interval command without exactly one target, a change, or with a malformed value', () => {
    const problem = (argv: string[]): string => caught(() => parseAdminArgs(argv, {})).message
    expect(problem(['interval', 'show'])).toBe('interval show needs exactly one of --host, --group or --all')
    expect(problem(['interval', 'set', '--host', 'h', '--all', '--interval-ms', '100'])).toBe(
      'interval set needs exactly one of --host, --group or --all',
    )
    expect(problem(['interval', 'set', '--host', 'h'])).toBe(
      'interval set needs --interval-ms, --family NAME=MS, --disable NAME or --enable NAME',
    )
    expect(problem(['interval', 'show', '--host', 'h', '--interval-ms', '100'])).toMatch(
      /interval show changes nothing/,
    )
    expect(problem(['interval', 'set', '--host', 'h', '--interval-ms', '1s'])).toBe(
      '--interval-ms "1s" is not a whole number of milliseconds',
    )
    expect(problem(['interval', 'set', '--host', 'h', '--family', 'cpu'])).toBe(
      '--family "cpu" must be NAME=MS, e.g. cpu=100',
    )
    expect(problem(['interval', 'set', '--host', 'h', '--enable', 'cpu', '--disable', 'cpu'])).toBe(
      '--enable and --disable both name cpu',
    )
  })
})
