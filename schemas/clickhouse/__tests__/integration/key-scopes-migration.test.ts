/**
 * Migration 4 on embedded ClickHouse: keys stored before the `sql` and `operator` scopes existed keep
 * the rights they had (a read key still runs SQL, an admin key is still installation-wide), nothing
 * else of a key changes, and running it again, or after new keys were made, changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ClickHouseClient } from '@clickhouse/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KeyAuthenticator } from '#platform/auth/authenticator.ts'
import { KeyStore, type KeyRecord } from '#platform/auth/key-store.ts'
import { createClickHouse, readClickHouseConfig } from '#platform/clickhouse.ts'
import { ConfigReader } from '#platform/config.ts'
import { createLogger } from '#platform/logger.ts'
import { migrations, type DdlOptions } from '../../ddl.ts'
import { migrate } from '../../migrate.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'procstream-key-scopes-'))
let clickhouse: ClickHouseClient

beforeAll(async () => {
  clickhouse = await createClickHouse(readClickHouseConfig(new ConfigReader({}), dataDir))
})

afterAll(async () => {
  await clickhouse.close()
  rmSync(dataDir, { recursive: true, force: true })
})

const o: DdlOptions = {
  database: `key_scopes_${process.pid}`,
  rawTtlDays: 7,
  tier10sTtlDays: 30,
  tier1mTtlDays: 365,
  tier1hTtlDays: 1825,
  dedupWindow: 100,
}

/** The database as the release before the new scopes left it: migrations 1 to 3 only. */
async function migrateUpTo(version: number): Promise<void> {
  expect(await migrate(clickhouse, o, { upTo: version })).toEqual([1, 2, 3].filter((v) => v <= version))
}

async function rowCount(): Promise<number> {
  const rs = await clickhouse.query({
    query: `SELECT count() AS n FROM ${o.database}.api_keys`,
    format: 'JSONEachRow',
  })
  return Number((await rs.json<{ n: string }>())[0]?.n)
}

async function versions(): Promise<Map<string, number>> {
  const rs = await clickhouse.query({
    query: `SELECT key_id, version FROM ${o.database}.api_keys FINAL`,
    format: 'JSONEachRow',
  })
  return new Map(
    (await rs.json<{ key_id: string; version: string }>()).map((r) => [r.key_id, Number(r.version)]),
  )
}

const byId = (records: KeyRecord[]): Map<string, KeyRecord> => new Map(records.map((r) => [r.keyId, r]))

describe('migration 4: the sql and operator scopes', () => {
  it('gives stored read keys sql and stored admin keys operator, once, and nothing else', async () => {
    await migrateUpTo(3)
    const store = new KeyStore(clickhouse, o.database)
    await store.createTenant('acme')
    // Made through the store of the release before, whose scopes were ingest, read and admin.
    const old = {
      read: await store.createKey({ tenant: 'acme', scopes: ['read'], name: 'grafana' }),
      admin: await store.createKey({ tenant: 'acme', scopes: ['admin'] }),
      ingest: await store.createKey({ tenant: 'acme', scopes: ['ingest'] }),
      all: await store.createKey({ tenant: 'acme', scopes: ['ingest', 'read', 'admin'] }),
      revoked: await store.createKey({ tenant: 'acme', scopes: ['read'], expiresAt: '2999-01-01T00:00:00Z' }),
    }
    await store.revokeKey(old.revoked.info.keyId)
    const before = byId(await store.loadKeys())
    const versionsBefore = await versions()

    // The migrations after 4 (the series-id layout) come with it; they do not touch keys.
    expect(await migrate(clickhouse, o)).toEqual([4, 5, 6])

    const after = byId(await store.loadKeys())
    const scopes = (k: { info: { keyId: string } }): string[] | undefined => after.get(k.info.keyId)?.scopes
    expect(scopes(old.read)).toEqual(['read', 'sql'])
    expect(scopes(old.admin)).toEqual(['admin', 'operator'])
    expect(scopes(old.ingest)).toEqual(['ingest'])
    expect(scopes(old.all)).toEqual(['admin', 'ingest', 'operator', 'read', 'sql'])
    expect(scopes(old.revoked)).toEqual(['read', 'sql'])
    // Everything but the scopes is the row as it was: hash, tenant, name, times, revocation.
    for (const [keyId, was] of before) expect({ ...after.get(keyId), scopes: was.scopes }).toEqual(was)
    expect(after.get(old.revoked.info.keyId)?.revokedAt).not.toBeNull()
    const versionsAfter = await versions()
    expect(versionsAfter.get(old.read.info.keyId)).toBe((versionsBefore.get(old.read.info.keyId) ?? 0) + 1)
    expect(versionsAfter.get(old.ingest.info.keyId)).toBe(versionsBefore.get(old.ingest.info.keyId))

    // The keys authenticate with their old secrets for what they could do before.
    const auth = new KeyAuthenticator(store, {
      refreshMs: 60_000,
      logger: createLogger('it-key-scopes', { level: 'silent' }),
    })
    await auth.start()
    auth.stop()
    expect((await auth.authenticate(old.read.key, 'sql')).tenant).toBe('acme')
    expect((await auth.authenticate(old.admin.key, 'operator')).tenant).toBe('acme')
    await expect(auth.authenticate(old.ingest.key, 'sql')).rejects.toMatchObject({ code: 'FORBIDDEN' })

    // Again, as a second process that read the applied versions before this one recorded 4 would:
    // keys made since the upgrade (a read-only Grafana key, a tenant admin) keep exactly their scopes.
    const grafana = await store.createKey({ tenant: 'acme', scopes: ['read'] })
    const tenantAdmin = await store.createKey({ tenant: 'acme', scopes: ['admin'] })
    const rows = await rowCount()
    const [statement] = migrations(o).find((m) => m.version === 4)?.statements ?? []
    await clickhouse.command({ query: statement as string })
    expect(await rowCount()).toBe(rows)
    const again = byId(await store.loadKeys())
    expect(again.get(grafana.info.keyId)?.scopes).toEqual(['read'])
    expect(again.get(tenantAdmin.info.keyId)?.scopes).toEqual(['admin'])
    expect(await migrate(clickhouse, o)).toEqual([])
  })

  it('changes nothing on a database that had no keys', async () => {
    const fresh: DdlOptions = { ...o, database: `${o.database}_fresh` }
    expect(await migrate(clickhouse, fresh)).toEqual([1, 2, 3, 4, 5, 6])
    const rs = await clickhouse.query({
      query: `SELECT count() AS n FROM ${fresh.database}.api_keys`,
      format: 'JSONEachRow',
    })
    expect(Number((await rs.json<{ n: string }>())[0]?.n)).toBe(0)
  })
})
