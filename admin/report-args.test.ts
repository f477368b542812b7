import { describe, expect, it } from 'vitest'
import { caught } from '#test/support/caught.ts'
import { parseReportArgs, parseTime } from './report-args.ts'

const NOW = Date.UTC(2026, 11, 7, 12)

describe('report CLI arguments', () => {
  it('parses a host report with relative times, the format from --out', () => {
    expect(
      parseReportArgs(['--host', 'web-1', '--from', '-24h', '--to', 'now', '--out', 'r.PDF'], {}, NOW),
    ).toEqual({
      kind: 'host',
      host: 'web-1',
      fromMs: NOW - 86_400_000,
      toMs: NOW,
      format: 'pdf',
      out: 'r.PDF',
      url: 'http://127.0.0.1:8080',
      key: undefined,
      help: false,
    })
  })

  it('parses a fleet report with ISO times, URL and key', () => {
    const inv = parseReportArgs(
      [
        '--fleet',
        '--from=2026-12-01T00:00:00Z',
        '--to',
        '1765108800000',
        '--format',
        'pdf',
        '--key',
        'psk_a_b',
      ],
      { PROCSTREAM_URL: 'https://m.example/' },
      NOW,
    )
    expect(inv).toMatchObject({
      kind: 'fleet',
      host: undefined,
      fromMs: Date.UTC(2026, 11, 1),
      toMs: 1765108800000,
      format: 'pdf',
      url: 'https://m.example',
      key: 'psk_a_b',
    })
    expect(parseReportArgs(['--fleet'], {}, NOW)).toMatchObject({
      fromMs: NOW - 86_400_000,
      toMs: NOW,
      format: 'html',
    })
  })

  it('reads relative and absolute times', () => {
    expect(parseTime('now-30m', '--from', NOW)).toBe(NOW - 1_800_000)
    expect(parseTime('-7d', '--from', NOW)).toBe(NOW - 7 * 86_400_000)
    expect(parseTime('-90s', '--from', NOW)).toBe(NOW - 90_000)
    expect(parseTime('2026-12-07', '--from', NOW)).toBe(Date.UTC(2026, 11, 7))
    expect(parseTime('2026-12-07T13:00:00+01:00', '--from', NOW)).toBe(NOW)
  })

  it('refuses what it cannot read, naming the option', () => {
    const message = (argv: string[]): string => caught(() => parseReportArgs(argv, {}, NOW)).message
    expect(message([])).toMatch(/--host HOST or --fleet/)
    expect(message(['--host', 'a', '--fleet'])).toMatch(/not both/)
    expect(message(['--fleet', '--from', 'yesterday'])).toMatch(/--from "yesterday" is not a time/)
    // A time without a zone would be read in this machine's zone: refused.
    expect(message(['--fleet', '--to', '2026-12-07T12:00:00'])).toMatch(/--to/)
    expect(message(['--fleet', '--format', 'png'])).toMatch(/html or pdf/)
    expect(message(['--fleet', '--format', 'html', '--out', 'x.pdf'])).toMatch(/does not end in .html/)
    expect(message(['--fleet', '--bogus'])).toMatch(/bogus/)
  })
})
