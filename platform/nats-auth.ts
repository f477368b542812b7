import { createHmac } from 'node:crypto'
import { tenantNameProblem } from './auth/api-key.ts'

/**
 * Who may do what on NATS, as a nats-server `authorization { users = [...] }` block.
 *
 * - `procstream`, the service user (processors, query API, gateway, the all-in-one): every
 *   `procstream.>` subject, `_INBOX.>`, and JetStream's API (`$JS.API.>`), which servers run with
 *   for streams to come; no tenant gets it.
 * - `tenant-<t>`, one per tenant: its own live points and control subjects, nothing of any other
 *   tenant. Its request inboxes live under `_INBOX.tenant-<t>.` instead of `_INBOX.>`: every
 *   requester's replies land on `_INBOX.…`, and a tenant allowed to subscribe there would read the
 *   control replies (host ids, agent ids, schedules) meant for other tenants. `allow_responses` lets
 *   an agent answer a control request on whatever reply subject it carries, once.
 *
 * A tenant's password is derived from one installation secret, so the whole block can be rendered
 * again from the tenant list at any time and a credential handed out again without storing it.
 */

export const NATS_SERVICE_USER = 'procstream'
const TENANT_USER_PREFIX = 'tenant-'

/** What a client needs to log in; `tenant` only for a tenant's credential. */
export interface NatsCredential {
  user: string
  password: string
  tenant?: string
  /** Where the client's request inboxes must live (the `inboxPrefix` connect option). */
  inbox_prefix?: string
}

export function tenantNatsUser(tenant: string): string {
  return `${TENANT_USER_PREFIX}${checkedTenant(tenant)}`
}

/** The tenant a user name belongs to, or undefined for the service user or any other name. */
export function tenantOfNatsUser(user: string): string | undefined {
  if (!user.startsWith(TENANT_USER_PREFIX)) return undefined
  const tenant = user.slice(TENANT_USER_PREFIX.length)
  return tenantNameProblem(tenant) === undefined ? tenant : undefined
}

/** Nuids (the random part of a default inbox) have no '-', so this prefix never meets another client's. */
export function tenantInboxPrefix(tenant: string): string {
  return `_INBOX.${tenantNatsUser(tenant)}`
}

/**
 * The installation secret and the service password are 32 random bytes in base64url. Anything else
 * is refused: what goes into the server's configuration must be characters its parser takes literally.
 */
const SECRET = /^[A-Za-z0-9_-]{32,256}$/

export function natsSecretProblem(what: string, value: string): string | undefined {
  return SECRET.test(value) ? undefined : `${what} must be 32 to 256 of A-Za-z0-9_- (base64url)`
}

function checkedTenant(tenant: string): string {
  const problem = tenantNameProblem(tenant)
  if (problem !== undefined) throw new Error(problem)
  return tenant
}

function checkedSecret(what: string, value: string): string {
  const problem = natsSecretProblem(what, value)
  if (problem !== undefined) throw new Error(problem)
  return value
}

/** HMAC-SHA256(secret, "tenant:" + name), base64url: the same tenant and secret give the same password. */
export function tenantNatsPassword(tenant: string, secret: string): string {
  return createHmac('sha256', checkedSecret('the NATS installation secret', secret))
    .update(`tenant:${checkedTenant(tenant)}`)
    .digest('base64url')
}

/** The credential a tenant's clients (its agents, its own tools) log in with. */
export function natsCredentialFor(tenant: string, secret: string): Required<NatsCredential> {
  return {
    tenant: checkedTenant(tenant),
    user: tenantNatsUser(tenant),
    password: tenantNatsPassword(tenant, secret),
    inbox_prefix: tenantInboxPrefix(tenant),
  }
}

/**
 * A string for the server's configuration. Every value reaching here has been checked against a
 * character set of letters, digits and `_ - . * >` before; this refuses anything else once more
 * (but the one fixed subject `$JS.API.>`), so an unchecked value can never end a string early or
 * open a `$variable`: inside double quotes the server's parser takes `$` literally.
 */
function quote(value: string): string {
  if (!/^(\$JS\.API\.>|[A-Za-z0-9_.*>-]+)$/.test(value))
    throw new Error(`refusing to write ${JSON.stringify(value)} into the NATS configuration`)
  return `"${value}"`
}

function list(values: readonly string[]): string {
  return `[${values.map(quote).join(', ')}]`
}

export interface NatsAuthorizationInput {
  servicePassword: string
  /** The installation secret tenant passwords are derived from. */
  secret: string
  tenants: readonly string[]
}

/** The `authorization { … }` block; duplicates in `tenants` are written once, in sorted order. */
export function renderNatsAuthorization(input: NatsAuthorizationInput): string {
  const servicePassword = checkedSecret('the NATS service password', input.servicePassword)
  checkedSecret('the NATS installation secret', input.secret)
  const tenants = [...new Set(input.tenants.map(checkedTenant))].sort()
  const lines = [
    '# Written by procstream (platform/nats-auth.ts): edits are overwritten.',
    'authorization {',
    '  users = [',
    `    { user: ${quote(NATS_SERVICE_USER)}, password: ${quote(servicePassword)}, permissions: {`,
    `        publish: { allow: ${list(['procstream.>', '_INBOX.>', '$JS.API.>'])} },`,
    `        subscribe: { allow: ${list(['procstream.>', '_INBOX.>'])} } } }`,
  ]
  for (const tenant of tenants) {
    const c = natsCredentialFor(tenant, input.secret)
    lines.push(
      `    { user: ${quote(c.user)}, password: ${quote(c.password)}, permissions: {`,
      `        publish: { allow: ${list([`procstream.control.${tenant}.>`])} },`,
      `        subscribe: { allow: ${list([`procstream.live.${tenant}.>`, `procstream.control.${tenant}.>`, `${c.inbox_prefix}.>`])} },`,
      '        allow_responses: true } }',
    )
  }
  lines.push('  ]', '}', '')
  return lines.join('\n')
}
