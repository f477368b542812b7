import { parseArgs } from 'node:util'
import { ROLES, SCOPES } from '#platform/auth/api-key.ts'

export type AdminCommand =
  | { kind: 'tenant-create'; name: string }
  | { kind: 'tenant-list' }
  | { kind: 'key-create'; tenant: string; scopes: string[]; name?: string; expiresAt?: string }
  | { kind: 'key-list'; tenant?: string }
  | { kind: 'key-revoke'; keyId: string }
  | ({ kind: 'interval-show' } & IntervalCall)
  | ({
      kind: 'interval-set'
      intervalMs?: number
      families?: Record<string, { interval_ms?: number; enabled?: boolean }>
    } & IntervalCall)

/** Whose agents an `interval` command reaches; the tenant is the key's unless an operator key names one. */
export interface IntervalCall {
  target: { host: string } | { group: string } | { all: true }
  tenant?: string
  waitMs?: number
}

export interface AdminInvocation {
  command: AdminCommand
  url: string
  /** Undefined: the CLI looks for the all-in-one local key file. */
  key: string | undefined
  json: boolean
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run admin -- COMMAND [options]

commands:
  tenant create NAME
  tenant list
  key create --tenant NAME --scopes ingest,read,sql,admin,operator
             [--name TEXT] [--expires 30d|12h|ISO-8601]
  key list [--tenant NAME]
  key revoke KEY_ID
  interval show (--host H | --group G | --all)
  interval set (--host H | --group G | --all)
               (--interval-ms N | --family NAME=MS … | --disable NAME … | --enable NAME …)
               the sampling schedule in force on the agents, or a change to it, through the query
               API; --tenant NAME with an operator key (a tenant key acts on its own tenant),
               --wait-ms N how long to wait for agents to answer (default 2000)

scopes:
${SCOPES.map((s) => `  ${s.padEnd(9)}  ${ROLES[s].may}`).join('\n')}
  A tenant admin key (admin) works on its own tenant only, and may grant every scope but operator.

options:
  --url URL    the query API (env PROCSTREAM_URL, default http://127.0.0.1:8080)
  --key KEY    a key with the operator scope, or admin for its own tenant's keys (env
               PROCSTREAM_ADMIN_KEY; default: .data/local-key, the installation's operator key);
               interval show also takes a read key
  --json       machine-readable output
`

/** `30d`, `12h`, `45m` from now, or an ISO-8601 time as given. */
export function expiryFrom(text: string, now = Date.now()): string {
  const rel = /^(\d+)([dhm])$/.exec(text)
  if (rel) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm']
    return new Date(now + Number(rel[1]) * unit).toISOString()
  }
  if (!Number.isFinite(Date.parse(text)))
    throw new UsageError(`--expires ${JSON.stringify(text)} is neither a duration (30d, 12h, 45m) nor a date`)
  return text
}

export function parseAdminArgs(argv: string[], env: NodeJS.ProcessEnv): AdminInvocation {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        json: { type: 'boolean', default: false },
        tenant: { type: 'string' },
        scopes: { type: 'string' },
        name: { type: 'string' },
        expires: { type: 'string' },
        host: { type: 'string' },
        group: { type: 'string' },
        all: { type: 'boolean', default: false },
        'interval-ms': { type: 'string' },
        family: { type: 'string', multiple: true },
        disable: { type: 'string', multiple: true },
        enable: { type: 'string', multiple: true },
        'wait-ms': { type: 'string' },
      },
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values: v, positionals: p } = parsed
  const [noun, verb, arg, ...extra] = p
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`)
  let command: AdminCommand
  const need = (value: string | undefined, what: string): string => {
    if (value === undefined || value === '') throw new UsageError(`${noun ?? ''} ${verb ?? ''} needs ${what}`)
    return value
  }
  if (noun === 'tenant' && verb === 'create') command = { kind: 'tenant-create', name: need(arg, 'a NAME') }
  else if (noun === 'tenant' && verb === 'list') command = { kind: 'tenant-list' }
  else if (noun === 'key' && verb === 'create') {
    const scopes = need(v.scopes, '--scopes')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    command = {
      kind: 'key-create',
      tenant: need(v.tenant, '--tenant'),
      scopes,
      ...(v.name !== undefined && { name: v.name }),
      ...(v.expires !== undefined && { expiresAt: expiryFrom(v.expires) }),
    }
  } else if (noun === 'key' && verb === 'list')
    command = { kind: 'key-list', ...(v.tenant !== undefined && { tenant: v.tenant }) }
  else if (noun === 'key' && verb === 'revoke') command = { kind: 'key-revoke', keyId: need(arg, 'a KEY_ID') }
  else if (noun === 'interval' && (verb === 'show' || verb === 'set')) {
    if (arg !== undefined) throw new UsageError(`unexpected arguments: ${arg}`)
    command = intervalCommand(verb, v)
  } else throw new UsageError(noun === undefined ? 'no command given' : `unknown command: ${p.join(' ')}`)
  return {
    command,
    url: (v.url ?? env.PROCSTREAM_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    key: v.key ?? env.PROCSTREAM_ADMIN_KEY,
    json: v.json,
  }
}

interface IntervalFlags {
  host?: string | undefined
  group?: string | undefined
  all?: boolean | undefined
  tenant?: string | undefined
  'interval-ms'?: string | undefined
  family?: string[] | undefined
  disable?: string[] | undefined
  enable?: string[] | undefined
  'wait-ms'?: string | undefined
}

function wholeMs(text: string, flag: string): number {
  if (!/^\d+$/.test(text))
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a whole number of milliseconds`)
  return Number(text)
}

/** Syntax only: bounds and family names are the query API's (and the agent's) to check. */
function intervalCommand(verb: 'show' | 'set', v: IntervalFlags): AdminCommand {
  const targets = [v.host !== undefined, v.group !== undefined, v.all === true].filter(Boolean).length
  if (targets !== 1) throw new UsageError(`interval ${verb} needs exactly one of --host, --group or --all`)
  const call: IntervalCall = {
    target:
      v.host !== undefined ? { host: v.host } : v.group !== undefined ? { group: v.group } : { all: true },
    ...(v.tenant !== undefined && { tenant: v.tenant }),
    ...(v['wait-ms'] !== undefined && { waitMs: wholeMs(v['wait-ms'], '--wait-ms') }),
  }
  const changes = [v['interval-ms'], v.family, v.disable, v.enable].filter((x) => x !== undefined)
  if (verb === 'show') {
    if (changes.length > 0)
      throw new UsageError(
        'interval show changes nothing: --interval-ms, --family, --disable and --enable are for interval set',
      )
    return { kind: 'interval-show', ...call }
  }
  if (changes.length === 0)
    throw new UsageError(
      'interval set needs --interval-ms, --family NAME=MS, --disable NAME or --enable NAME',
    )
  const families: Record<string, { interval_ms?: number; enabled?: boolean }> = {}
  const entry = (name: string, flag: string): { interval_ms?: number; enabled?: boolean } => {
    if (name === '') throw new UsageError(`${flag} needs a family name`)
    return (families[name] ??= {})
  }
  for (const f of v.family ?? []) {
    const eq = f.indexOf('=')
    if (eq < 0) throw new UsageError(`--family ${JSON.stringify(f)} must be NAME=MS, e.g. cpu=100`)
    entry(f.slice(0, eq), '--family').interval_ms = wholeMs(f.slice(eq + 1), `--family ${f.slice(0, eq)}`)
  }
  for (const name of v.enable ?? []) entry(name, '--enable').enabled = true
  for (const name of v.disable ?? []) {
    const e = entry(name, '--disable')
    if (e.enabled === true) throw new UsageError(`--enable and --disable both name ${name}`)
    e.enabled = false
  }
  return {
    kind: 'interval-set',
    ...call,
    ...(v['interval-ms'] !== undefined && { intervalMs: wholeMs(v['interval-ms'], '--interval-ms') }),
    ...(Object.keys(families).length > 0 && { families }),
  }
}
