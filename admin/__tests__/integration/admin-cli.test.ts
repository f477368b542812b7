/**
 * `npm run admin` against a running query API over the real key table: tenants and keys made by the
 * CLI authenticate (and only as their tenant and scopes), list without secrets, and revoke; an
 * operator key does all of it, a tenant admin key only its own tenant's keys.
 */
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { KeyStore } from '#platform/auth/key-store.ts'
import { createLogger } from '#platform/logger.ts'
import { buildQueryApi } from '#test/support/components/query-api.ts'
import { ddlOptions } from '#test/support/components/stream-processors.ts'
import { migrate } from '#schemas/clickhouse/migrate.ts'
import { openProcessorTestbed, type ProcessorTestbed } from '#test/support/processor-testbed.ts'

const REPO = resolve(import.meta.dirname, '../../..')
let bed: ProcessorTestbed
let api: FastifyInstance
let url = ''
let adminKey = ''
let auth: KeyAuthenticator

function cli(args: string[], key = adminKey): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', resolve(REPO, 'admin/cli.ts'), ...args],
      { cwd: REPO, env: { ...process.env, PROCSTREAM_URL: url, PROCSTREAM_ADMIN_KEY: key } },
      (err, stdout, stderr) => {
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
      },
    )
  })
}

beforeAll(async () => {
  bed = await openProcessorTestbed('admin_cli', { partitions: 1 })
  await migrate(bed.clickhouse, ddlOptions(bed.config))
  const store = new KeyStore(bed.clickhouse, bed.config.clickhouse.database)
  await store.createTenant('ops')
  adminKey = (await store.createKey({ tenant: 'ops', scopes: ['operator'] })).key
  auth = new KeyAuthenticator(store, { refreshMs: 60_000, logger: createLogger('it', { level: 'silent' }) })
  await auth.start()
  api = await buildQueryApi({
    clickhouse: bed.clickhouse,
    database: bed.config.clickhouse.database,
    keys: auth,
    admin: { keys: auth, store },
    logger: createLogger('it-admin', { level: 'silent' }),
    maxPoints: 1000,
    readiness: [],
  })
  url = await api.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  auth.stop()
  await api.close()
  await bed.close()
})

describe('npm run admin', () => {
  it('creates a tenant and a key that reads as that tenant only, shown once and listed without secret', async () => {
    expect(await cli(['tenant', 'create', 'acme'])).toMatchObject({
      code: 0,
      stdout: 'tenant acme created\n',
    })
    const dup = await cli(['tenant', 'create', 'acme'])
    expect(dup.code).toBe(1)
    expect(dup.stderr).toBe('error 409 CONFLICT: tenant "acme" already exists\n')

    const made = await cli([
      'key',
      'create',
      '--tenant',
      'acme',
      '--scopes',
      'read',
      '--name',
      'grafana',
      '--expires',
      '30d',
      '--json',
    ])
    expect(made.code).toBe(0)
    const created = JSON.parse(made.stdout) as {
      key: string
      keyId: string
      scopes: string[]
      expiresAt: string
    }
    expect(created.key).toMatch(/^psk_[0-9a-f]{12}_/)
    expect(created.scopes).toEqual(['read'])
    expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000)

    const who = await fetch(`${url}/api/whoami`, { headers: { authorization: `Bearer ${created.key}` } })
    expect(await who.json()).toMatchObject({ tenant: 'acme', key_id: created.keyId })
    // A read key is not an admin key.
    expect((await cli(['tenant', 'list'], created.key)).stderr).toBe(
      'error 403 FORBIDDEN: this API key lacks the operator scope\n',
    )
    expect((await cli(['key', 'list'], created.key)).stderr).toBe(
      'error 403 FORBIDDEN: this API key lacks the admin or operator scope\n',
    )

    const listed = await cli(['key', 'list', '--tenant', 'acme'])
    expect(listed.stdout).toContain(created.keyId)
    expect(listed.stdout).toContain('grafana')
    expect(listed.stdout).not.toContain(created.key)
    const json = JSON.parse((await cli(['key', 'list', '--json'])).stdout) as {
      keys: Record<string, unknown>[]
    }
    expect(json.keys.map((k) => k.tenant).sort()).toEqual(['acme', 'ops'])
    for (const k of json.keys) expect(Object.keys(k)).not.toContain('hash')

    const revoked = await cli(['key', 'revoke', created.keyId])
    expect(revoked.stdout).toMatch(new RegExp(`^key ${created.keyId} revoked at \\d{4}-`))
    const after = await fetch(`${url}/api/whoami`, { headers: { authorization: `Bearer ${created.key}` } })
    expect(after.status).toBe(401)
    expect(await after.json()).toEqual({ error: 'API key revoked', code: 'UNAUTHENTICATED' })
  })

  it("gives a tenant admin key its own tenant's keys and nothing else", async () => {
    await cli(['tenant', 'create', 'globex'])
    const tenantAdmin = (
      JSON.parse(
        (await cli(['key', 'create', '--tenant', 'globex', '--scopes', 'admin', '--json'])).stdout,
      ) as { key: string }
    ).key
    const own = await cli(
      ['key', 'create', '--tenant', 'globex', '--scopes', 'read,sql', '--json'],
      tenantAdmin,
    )
    expect(own.code).toBe(0)
    expect(JSON.parse(own.stdout)).toMatchObject({ tenant: 'globex', scopes: ['read', 'sql'] })
    const listed = JSON.parse((await cli(['key', 'list', '--json'], tenantAdmin)).stdout) as {
      keys: { tenant: string }[]
    }
    expect(new Set(listed.keys.map((k) => k.tenant))).toEqual(new Set(['globex']))
    expect(await cli(['key', 'create', '--tenant', 'ops', '--scopes', 'read'], tenantAdmin)).toMatchObject({
      code: 1,
      stderr: "error 403 FORBIDDEN: a tenant admin key manages its own tenant's keys only\n",
    })
    expect(await cli(['tenant', 'create', 'initech'], tenantAdmin)).toMatchObject({
      code: 1,
      stderr: 'error 403 FORBIDDEN: this API key lacks the operator scope\n',
    })
    expect((await cli(['tenant', 'list', '--json'])).stdout).not.toContain('initech')
  })

  it('refuses bad requests with a message naming the problem', async () => {
    const cases: [string[], number, string][] = [
      [
        ['tenant', 'create', 'Bad/Name'],
        1,
        'error 400 INVALID: tenant name "Bad/Name" must be 1–63 of a-z 0-9 _ - and start with a letter or digit\n',
      ],
      [
        ['key', 'create', '--tenant', 'nobody', '--scopes', 'read'],
        1,
        'error 404 UNKNOWN: no tenant "nobody": create it first\n',
      ],
      [
        ['key', 'create', '--tenant', 'acme', '--scopes', 'read,root'],
        1,
        'error 400 INVALID: unknown scope(s) "root": valid are ingest, read, sql, admin, operator\n',
      ],
      [['key', 'revoke', 'ffffffffffff'], 1, 'error 404 UNKNOWN: no key with id "ffffffffffff"\n'],
    ]
    for (const [args, code, stderr] of cases) expect(await cli(args)).toMatchObject({ code, stderr })
    const usage = await cli(['key', 'create', '--tenant', 'acme'])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/^key create needs --scopes\n\nusage: npm run admin/)
    const wrongKey = await cli(['tenant', 'list'], 'psk_abcd_notarealkeynotarealkey')
    expect(wrongKey.stderr).toBe('error 401 UNAUTHENTICATED: invalid API key\n')
  })
})
