import { parseArgs } from 'node:util'
import { ROLES, SCOPES } from '../platform/auth/api-key.ts'

export type AdminCommand =
  | { kind: 'tenant-create'; name: string }
  | { kind: 'tenant-list' }
  | { kind: 'key-create'; tenant: string; scopes: string[]; name?: string; expiresAt?: string }
  | { kind: 'key-list'; tenant?: string }
  | { kind: 'key-revoke'; keyId: string }

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

scopes:
${SCOPES.map((s) => `  ${s.padEnd(9)}  ${ROLES[s].may}`).join('\n')}
  A tenant admin key (admin) works on its own tenant only, and may grant every scope but operator.

options:
  --url URL    the query API (env PROCSTREAM_URL, default http://127.0.0.1:8080)
  --key KEY    a key with the operator scope, or admin for its own tenant's keys (env
               PROCSTREAM_ADMIN_KEY; default: .data/local-key, the installation's operator key)
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
  else throw new UsageError(noun === undefined ? 'no command given' : `unknown command: ${p.join(' ')}`)
  return {
    command,
    url: (v.url ?? env.PROCSTREAM_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    key: v.key ?? env.PROCSTREAM_ADMIN_KEY,
    json: v.json,
  }
}
