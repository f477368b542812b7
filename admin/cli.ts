/**
 * `npm run admin`: tenants and API keys of a running installation, through the admin API of its
 * query API (the embedded ClickHouse belongs to one process, so the CLI never opens it itself).
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
  }
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
  return 0
}

process.exitCode = await main()
