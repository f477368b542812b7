/**
 * `npm run admin`: tenants and API keys of a running installation, through the admin API of its
 * query API, and the agents' sampling intervals through its control API (the embedded ClickHouse belongs to one process, so the CLI never opens it itself).
 */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseAdminArgs, USAGE, UsageError, type AdminCommand } from './args.ts'

interface KeyInfo {
  keyId: string
  tenant: string
  name: string
  scopes: string[]
  createdAt: string
  expiresAt: string | null
  revokedAt: string | null
  key?: string
}

function request(command: AdminCommand): { method: string; path: string; body?: unknown } {
  switch (command.kind) {
    case 'tenant-create':
      return { method: 'POST', path: '/api/v1/admin/tenants', body: { name: command.name } }
    case 'tenant-list':
      return { method: 'GET', path: '/api/v1/admin/tenants' }
    case 'key-create':
      return {
        method: 'POST',
        path: '/api/v1/admin/keys',
        body: {
          tenant: command.tenant,
          scopes: command.scopes,
          name: command.name,
          expires_at: command.expiresAt,
        },
      }
    case 'key-list':
      return {
        method: 'GET',
        path: `/api/v1/admin/keys${command.tenant === undefined ? '' : `?tenant=${encodeURIComponent(command.tenant)}`}`,
      }
    case 'key-revoke':
      return {
        method: 'POST',
        path: `/api/v1/admin/keys/${encodeURIComponent(command.keyId)}/revoke`,
        body: {},
      }
    case 'interval-show': {
      const q = new URLSearchParams()
      if ('host' in command.target) q.set('host', command.target.host)
      else if ('group' in command.target) q.set('group', command.target.group)
      else q.set('all', 'true')
      if (command.tenant !== undefined) q.set('tenant', command.tenant)
      if (command.waitMs !== undefined) q.set('wait_ms', String(command.waitMs))
      return { method: 'GET', path: `/api/v1/control/schedule?${q.toString()}` }
    }
    case 'interval-set':
      return {
        method: 'POST',
        path: '/api/v1/control',
        body: {
          target: command.target,
          tenant: command.tenant,
          wait_ms: command.waitMs,
          interval_ms: command.intervalMs,
          families: command.families,
        },
      }
  }
}

interface AgentAnswer {
  host_id: string
  agent_id: string | null
  applied?: Record<string, { enabled: boolean; interval_ms: number }>
  error?: string
}

/** One row per agent and family, so two agents of one host id are told apart. */
function scheduleRows(replies: AgentAnswer[]): string {
  return table([
    ['HOST', 'AGENT', 'FAMILY', 'INTERVAL MS', 'ENABLED'],
    ...replies.flatMap((r) =>
      Object.entries(r.applied ?? {}).map(([family, s]) => [
        r.host_id,
        r.agent_id ?? '-',
        family,
        String(s.interval_ms),
        s.enabled ? 'yes' : 'no',
      ]),
    ),
  ])
}

/** The agents that refused a request, one line each; empty when none did. */
function agentErrors(command: AdminCommand, body: Record<string, unknown>): string {
  if (command.kind !== 'interval-show' && command.kind !== 'interval-set') return ''
  return (body.replies as AgentAnswer[])
    .filter((r) => r.error !== undefined)
    .map((r) => `host ${r.host_id} agent ${r.agent_id ?? '-'}: ${String(r.error)}\n`)
    .join('')
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  )
}

function keyRows(keys: KeyInfo[]): string {
  return table([
    ['KEY ID', 'TENANT', 'SCOPES', 'NAME', 'CREATED', 'EXPIRES', 'REVOKED'],
    ...keys.map((k) => [
      k.keyId,
      k.tenant,
      k.scopes.join(','),
      k.name,
      k.createdAt,
      k.expiresAt ?? '-',
      k.revokedAt ?? '-',
    ]),
  ])
}

function human(command: AdminCommand, body: Record<string, unknown>): string {
  switch (command.kind) {
    case 'tenant-create':
      return `tenant ${String(body.name)} created\n`
    case 'tenant-list':
      return table([
        ['TENANT', 'CREATED'],
        ...(body.tenants as { name: string; createdAt: string }[]).map((t) => [t.name, t.createdAt]),
      ])
    case 'key-create':
      return `${String(body.key)}\n\nkey ${String(body.keyId)} for tenant ${String(body.tenant)} (${(body.scopes as string[]).join(',')}); it is shown only this once.\n`
    case 'key-list':
      return keyRows(body.keys as KeyInfo[])
    case 'key-revoke':
      return `key ${String(body.keyId)} revoked at ${String(body.revokedAt)}\n`
    case 'interval-show':
    case 'interval-set':
      return scheduleRows((body.replies as AgentAnswer[]).filter((r) => r.error === undefined))
  }
}

function localKeyFile(): string | undefined {
  const file = resolve(
    process.env.PROCSTREAM_DATA_DIR ?? resolve(import.meta.dirname, '../.data'),
    'local-key',
  )
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
}

async function main(): Promise<number> {
  let inv
  try {
    inv = parseAdminArgs(process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`)
      return 2
    }
    throw err
  }
  const key = inv.key ?? localKeyFile()
  if (key === undefined) {
    process.stderr.write(
      'no key: pass --key or set PROCSTREAM_ADMIN_KEY (npm start keeps its operator key in .data/local-key)\n',
    )
    return 2
  }
  const { method, path, body } = request(inv.command)
  let res: Response
  try {
    res = await fetch(`${inv.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    })
  } catch (err) {
    process.stderr.write(`cannot reach ${inv.url}: ${(err as Error).message}\n`)
    return 1
  }
  const text = await res.text()
  let json: Record<string, unknown>
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    process.stderr.write(`${inv.url} answered ${String(res.status)} with a body that is not JSON\n`)
    return 1
  }
  if (!res.ok) {
    if (inv.json) process.stdout.write(`${JSON.stringify(json)}\n`)
    process.stderr.write(`error ${String(res.status)} ${String(json.code)}: ${String(json.error)}\n`)
    return 1
  }
  process.stdout.write(inv.json ? `${JSON.stringify(json, null, 2)}\n` : human(inv.command, json))
  // An agent that refused the request applied none of it: that is a failure of the command.
  const refused = agentErrors(inv.command, json)
  if (refused !== '') {
    process.stderr.write(refused)
    return 1
  }
  return 0
}

process.exitCode = await main()
