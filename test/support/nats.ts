/**
 * Connections to the integration tests' NATS (test/global-setup.ts), which requires credentials like
 * every server procstream runs: the service user, or one tenant's user derived from the secret.
 */
import { connect, type ConnectionOptions, type NatsConnection } from 'nats'
import { inject } from 'vitest'
import { natsCredentialFor } from '#platform/nats-auth.ts'
import type { NatsClientConfig } from '#platform/nats-client.ts'

/** Tenants whose credentials the test server accepts (the global setup starts it with them). */
export const TEST_NATS_TENANTS = ['acme', 'globex', 'other'] as const
export type TestNatsTenant = (typeof TEST_NATS_TENANTS)[number]

export function natsUrl(): string {
  return inject('nats').url
}

export function serviceNatsConfig(): NatsClientConfig {
  const n = inject('nats')
  return { url: n.url, user: n.user, password: n.password, tenant: undefined }
}

/** A tenant's credential; an external NATS without NATS_TEST_SECRET_FILE cannot give one. */
export function tenantNatsCredential(tenant: TestNatsTenant): ReturnType<typeof natsCredentialFor> {
  const secret = inject('nats').secret
  if (secret === undefined)
    throw new Error('tenant NATS credentials need NATS_TEST_SECRET_FILE with an external NATS_URL')
  return natsCredentialFor(tenant, secret)
}

export function connectService(
  name: string,
  extra: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  const n = inject('nats')
  return connect({ servers: n.url, user: n.user, pass: n.password, name, ...extra })
}

export function connectTenant(
  tenant: TestNatsTenant,
  name: string,
  extra: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  const c = tenantNatsCredential(tenant)
  return connect({
    servers: natsUrl(),
    user: c.user,
    pass: c.password,
    inboxPrefix: c.inbox_prefix,
    name,
    ...extra,
  })
}
