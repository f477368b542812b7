import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { KeyStore } from '#platform/auth/key-store.ts'
import type { Logger } from '#platform/logger.ts'
import { natsCredentialFor } from '#platform/nats-auth.ts'
import { followTenants } from '../deploy/local/nats.ts'
import { LOCAL_TENANT } from './keys.ts'
import type { Services } from './services.ts'

/**
 * The local NATS server's users follow the tenant table, and the local agent gets its tenant's NATS
 * credential. Returns the agent's NATS environment: empty with an external NATS.
 */
export async function followNatsUsers(o: {
  services: Services
  store: KeyStore
  refreshMs: number
  dataDir: string
  logger: Logger
  stops: (() => Promise<void>)[]
  say: (line: string) => void
}): Promise<NodeJS.ProcessEnv> {
  const { localNats, natsClient } = o.services
  if (!localNats) {
    // No tenant credential to hand out: its control comes through the gateway, on its ingest key.
    o.say('NATS: external, so the local agent takes live control through the ingest gateway')
    return {}
  }
  // The server's users follow the tenant table, so a tenant created with `npm run admin` gets a
  // working NATS credential (npm run nats-credential) within one refresh.
  const following = await followTenants(localNats, o.store, o.refreshMs, o.logger)
  o.stops.push(() => {
    following.stop()
    return Promise.resolve()
  })
  // The agent's control subscription is its credential's tenant's, and the server enforces that.
  const agentCredential = resolve(o.dataDir, 'nats', 'agent-credential.json')
  writeFileSync(agentCredential, JSON.stringify(natsCredentialFor(LOCAL_TENANT, localNats.secret)), {
    mode: 0o600,
  })
  return { NATS_URL: natsClient.url, NATS_CREDENTIALS_FILE: agentCredential }
}
