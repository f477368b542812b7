import { parseArgs } from 'node:util'
import { UsageError } from './args.ts'

export { UsageError }

export interface ReportInvocation {
  kind: 'host' | 'fleet'
  host: string | undefined
  fromMs: number
  toMs: number
  format: 'html' | 'pdf'
  /** Undefined: the name the server gives the file, in the current directory. */
  out: string | undefined
  url: string
  /** Undefined: the CLI looks for the all-in-one dashboard key file. */
  key: string | undefined
  help: boolean
}

export const REPORT_USAGE = `usage: npm run report -- (--host HOST | --fleet) [options]

A self-contained HTML report (or a PDF of it) of one host or of the whole fleet over a window,
made by the query API and saved here.

options:
  --host HOST    the host: its id or its name
  --fleet        the fleet: the top hosts by each resource
  --from TIME    start of the window (default -24h)
  --to TIME      end of the window (default now)
                 TIME: now, a time before now (-90s, -30m, -24h, -7d), ISO-8601
                 (2026-01-31T12:00:00Z) or epoch milliseconds
  --format F     html or pdf (default: from --out's extension, else html)
  --out FILE     where to save it (default: the report's own name, in this directory)
  --url URL      the query API (env PROCSTREAM_URL, default http://127.0.0.1:8080)
  --key KEY      a key with the read scope (default: .data/dashboard-key, npm start's dashboard key)
`

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** `now`, `-24h` or `now-24h`, ISO-8601 or epoch milliseconds, as epoch milliseconds. */
export function parseTime(text: string, option: string, now: number): number {
  const t = text.trim()
  if (t === 'now') return now
  const rel = /^(?:now)?-(\d+(?:\.\d+)?)([smhd])$/.exec(t)
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]
  if (/^\d{10,}$/.test(t)) return Number(t)
  // A date alone or a time with a zone: Date.parse reads both; anything else is refused rather
  // than read in whatever zone this machine happens to be in.
  if (/^\d{4}-\d{2}-\d{2}$/.test(t) || /(Z|[+-]\d{2}:?\d{2})$/.test(t)) {
    const ms = Date.parse(t)
    if (Number.isFinite(ms)) return ms
  }
  throw new UsageError(
    `${option} ${JSON.stringify(text)} is not a time: use now, -30m, -24h, -7d, an ISO-8601 time with a zone (2026-01-31T12:00:00Z) or epoch milliseconds`,
  )
}

const STRING_OPTIONS = new Set(['--host', '--from', '--to', '--format', '--out', '--url', '--key'])

/**
 * `--from -24h` as `--from=-24h`: parseArgs refuses a value that starts with a dash as ambiguous,
 * and a relative time always does.
 */
function joinValues(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    const next = argv[i + 1]
    if (STRING_OPTIONS.has(a) && next !== undefined) {
      out.push(`${a}=${next}`)
      i++
    } else out.push(a)
  }
  return out
}

export function parseReportArgs(argv: string[], env: NodeJS.ProcessEnv, now = Date.now()): ReportInvocation {
  let parsed
  try {
    parsed = parseArgs({
      args: joinValues(argv),
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        fleet: { type: 'boolean', default: false },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        url: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const v = parsed.values
  const base = {
    url: (v.url ?? env.PROCSTREAM_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    key: v.key,
  }
  if (v.help)
    return {
      kind: 'fleet',
      host: undefined,
      fromMs: 0,
      toMs: 0,
      format: 'html',
      out: undefined,
      ...base,
      help: true,
    }
  if (v.fleet && v.host !== undefined) throw new UsageError('give either --host or --fleet, not both')
  if (!v.fleet && (v.host === undefined || v.host === '')) throw new UsageError('give --host HOST or --fleet')
  const fromMs = parseTime(v.from ?? '-24h', '--from', now)
  const toMs = parseTime(v.to ?? 'now', '--to', now)
  let format: 'html' | 'pdf'
  const extension = v.out === undefined ? undefined : /\.(html?|pdf)$/i.exec(v.out)?.[1]?.toLowerCase()
  if (v.format !== undefined) {
    if (v.format !== 'html' && v.format !== 'pdf')
      throw new UsageError(`--format ${JSON.stringify(v.format)} must be html or pdf`)
    format = v.format
    if (extension !== undefined && (extension === 'pdf') !== (format === 'pdf'))
      throw new UsageError(`--out ${JSON.stringify(v.out)} does not end in .${format}`)
  } else format = extension === 'pdf' ? 'pdf' : 'html'
  if (v.out === '') throw new UsageError('--out needs a file name')
  return {
    kind: v.fleet ? 'fleet' : 'host',
    host: v.fleet ? undefined : v.host,
    fromMs,
    toMs,
    format,
    out: v.out,
    ...base,
    help: false,
  }
}
