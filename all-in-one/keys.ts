import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { generateKey, parseKey, type Scope } from '#platform/auth/api-key.ts'
import type { KeyStore } from '#platform/auth/key-store.ts'
import { verifyKey } from '#platform/auth/key-hash.ts'
import { ConfigError } from '#platform/errors.ts'

/** The all-in-one installation's tenant. */
export const LOCAL_TENANT = 'local'

/**
 * A key of the all-in-one installation, made once and kept (mode 0600) in the data folder so a restart
 * keeps it, and registered in the key table if the table does not hold it (a new data folder, or a
 * key given through the environment) or holds it with other scopes than `scopes` (the local key of a
 * release before the operator scope, which also read and ingested, is narrowed to what it is for now).
 * A revoked key stays revoked: the operator meant it.
 */
export async function ensureLocalKey(o: {
  store: KeyStore
  dataDir: string
  file: string
  keyId: string
  scopes: Scope[]
  name: string
  fromEnv?: string | undefined
  envName?: string
}): Promise<{ key: string; file: string; revoked: boolean }> {
  const file = resolve(o.dataDir, o.file)
  let key: string
  if (o.fromEnv !== undefined && o.fromEnv !== '') {
    if (!parseKey(o.fromEnv))
      throw new ConfigError([
        `${o.envName ?? 'the key'} must look like psk_<id>_<secret> (id: 4–32 of a-z0-9, secret: 16+ of A-Za-z0-9_-)`,
      ])
    key = o.fromEnv
    writeFileSync(file, `${key}\n`, { mode: 0o600 })
  } else if (existsSync(file) && parseKey(readFileSync(file, 'utf8').trim())) {
    key = readFileSync(file, 'utf8').trim()
  } else {
    key = generateKey(o.keyId).key
    writeFileSync(file, `${key}\n`, { mode: 0o600 })
  }
  const keyId = (parseKey(key) as { keyId: string }).keyId
  await o.store.createTenant(LOCAL_TENANT, { ifMissing: true })
  const stored = (await o.store.loadKeys(LOCAL_TENANT)).find((k) => k.keyId === keyId)
  if (stored?.revokedAt) return { key, file, revoked: true }
  const sameScopes = stored !== undefined && stored.scopes.join() === [...new Set(o.scopes)].sort().join()
  if (!stored || !sameScopes || !(await verifyKey(key, stored.hash)))
    await o.store.registerKey(key, { tenant: LOCAL_TENANT, scopes: o.scopes, name: o.name })
  return { key, file, revoked: false }
}

export interface InstallationKeys {
  /** The installation operator's, for npm run admin. */
  local: { key: string; file: string; revoked: boolean }
  agent: { key: string; file: string; revoked: boolean }
  dashboard: { key: string; file: string; revoked: boolean }
}

/** The three keys `npm start` hands out, each kept in the data folder; `say` warns of a revoked one. */
export async function ensureInstallationKeys(
  store: KeyStore,
  dataDir: string,
  say: (line: string) => void,
): Promise<InstallationKeys> {
  const local = await ensureLocalKey({
    store,
    dataDir,
    file: 'local-key',
    keyId: 'local',
    // The installation operator's, for npm run admin; never printed, so it is in no browser history.
    scopes: ['operator'],
    name: 'all-in-one operator key',
    fromEnv: process.env.PROCSTREAM_LOCAL_KEY,
    envName: 'PROCSTREAM_LOCAL_KEY',
  })
  if (local.revoked)
    say(`warning: the local key in ${local.file} is revoked; make a new one with npm run admin`)
  // The agent holds a key that can only ingest, as an agent on another host would.
  const agent = await ensureLocalKey({
    store,
    dataDir,
    file: 'agent-key',
    keyId: 'localagent',
    scopes: ['ingest'],
    name: 'all-in-one agent',
  })
  // What the dashboard link and the examples carry: a tenant's key that reads and runs SQL, no more.
  const dashboard = await ensureLocalKey({
    store,
    dataDir,
    file: 'dashboard-key',
    keyId: 'localdash',
    scopes: ['read', 'sql'],
    name: 'all-in-one dashboard',
  })
  if (dashboard.revoked)
    say(`warning: the dashboard key in ${dashboard.file} is revoked; make a new one with npm run admin`)
  return { local, agent, dashboard }
}
