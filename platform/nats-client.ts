import { readFileSync } from 'node:fs'
import type { ConnectionOptions, NatsConnection } from 'nats'
import { redactUrl, type ConfigReader } from './config.ts'
import { ServiceError, errorMessage } from './errors.ts'
import { NATS_SERVICE_USER, tenantInboxPrefix, tenantOfNatsUser, type NatsCredential } from './nats-auth.ts'

/**
 * How a component reaches NATS. Every server procstream runs or configures requires a user and a
 * password (platform/nats-auth.ts), so a URL without a credential is a configuration error, not an
 * anonymous connection that would fail later.
 */
export interface NatsClientConfig {
  url: string
  user: string
  /** Never logged. */
  password: string
  /** The tenant of a `tenant-<t>` credential; undefined for the service credential. */
  tenant: string | undefined
}

/** Which credential a component must hold: the installation's service user, or one tenant's. */
export type NatsRole = 'service' | 'tenant'

const CREDENTIAL_HELP =
  'NATS_CREDENTIALS_FILE (JSON {"user","password"}), or NATS_USER with NATS_PASSWORD_FILE (or NATS_PASSWORD)'

/**
 * NATS_URL with NATS_CREDENTIALS_FILE, or NATS_USER and NATS_PASSWORD / NATS_PASSWORD_FILE. Nothing
 * set: undefined (the component runs without NATS). Problems name the variables and files, never the
 * password: ConfigError's message is printed, and from there it reaches logs.
 */
export function readNatsClient(r: ConfigReader, role: NatsRole): NatsClientConfig | undefined {
  const url = r.url('NATS_URL', ['nats:', 'tls:'])
  const file = r.string('NATS_CREDENTIALS_FILE')
  const userVar = r.string('NATS_USER')
  const inline = r.string('NATS_PASSWORD')
  const passwordFile = r.string('NATS_PASSWORD_FILE')
  if (url === undefined) {
    if (file !== undefined || userVar !== undefined || inline !== undefined || passwordFile !== undefined)
      r.problem('NATS_CREDENTIALS_FILE / NATS_USER / NATS_PASSWORD(_FILE) are set but NATS_URL is not')
    return undefined
  }
  if (/\/\/[^/]*@/.test(url))
    r.problem(`NATS_URL=${redactUrl(url)} must not carry credentials: give ${CREDENTIAL_HELP}`)

  let credential: NatsCredential | undefined
  if (file !== undefined) {
    if (userVar !== undefined || inline !== undefined || passwordFile !== undefined)
      r.problem('NATS_CREDENTIALS_FILE and NATS_USER / NATS_PASSWORD(_FILE) are both set: choose one')
    credential = readCredentialFile(r, file)
  } else if (userVar !== undefined || inline !== undefined || passwordFile !== undefined) {
    if (userVar === undefined) r.problem('NATS_PASSWORD(_FILE) is set without NATS_USER')
    if (inline !== undefined && passwordFile !== undefined)
      r.problem('NATS_PASSWORD and NATS_PASSWORD_FILE are both set: choose one')
    const password =
      passwordFile === undefined ? inline : readSecretFile(r, 'NATS_PASSWORD_FILE', passwordFile)
    if (password === undefined && passwordFile === undefined)
      r.problem('NATS_USER is set without NATS_PASSWORD_FILE (or NATS_PASSWORD)')
    if (userVar !== undefined && password !== undefined) credential = { user: userVar, password }
  } else {
    r.problem(
      `NATS_URL is set but no NATS credential is: the server refuses anonymous clients; give ${CREDENTIAL_HELP}`,
    )
  }
  if (credential === undefined) return undefined

  const tenant = tenantOfNatsUser(credential.user)
  if (credential.tenant !== undefined && credential.tenant !== tenant)
    r.problem(
      `NATS_CREDENTIALS_FILE says tenant ${JSON.stringify(credential.tenant)} but its user ${JSON.stringify(credential.user)} belongs to ${tenant === undefined ? 'no tenant' : JSON.stringify(tenant)}`,
    )
  if (role === 'service' && credential.user !== NATS_SERVICE_USER)
    r.problem(
      `the NATS user must be the service user ${JSON.stringify(NATS_SERVICE_USER)}, not ${JSON.stringify(credential.user)}: this component reads and writes every tenant's subjects`,
    )
  if (role === 'tenant' && tenant === undefined)
    r.problem(
      `the NATS user ${JSON.stringify(credential.user)} is not a tenant's (tenant-<name>): give this tenant's own credential, never the service's, which reaches every tenant`,
    )
  return { url, user: credential.user, password: credential.password, tenant }
}

function readSecretFile(r: ConfigReader, name: string, path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim()
    if (text === '') r.problem(`${name}=${path} is empty`)
    return text === '' ? undefined : text
  } catch (err) {
    r.problem(`${name}=${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`)
    return undefined
  }
}

function readCredentialFile(r: ConfigReader, path: string): NatsCredential | undefined {
  const text = readSecretFile(r, 'NATS_CREDENTIALS_FILE', path)
  if (text === undefined) return undefined
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    r.problem(`NATS_CREDENTIALS_FILE=${path} is not JSON`)
    return undefined
  }
  const o = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const { user, password, tenant } = o
  if (typeof user !== 'string' || user === '' || typeof password !== 'string' || password === '') {
    r.problem(
      `NATS_CREDENTIALS_FILE=${path} must hold {"user": "…", "password": "…"} (npm run nats-credential)`,
    )
    return undefined
  }
  if (tenant !== undefined && typeof tenant !== 'string') {
    r.problem(`NATS_CREDENTIALS_FILE=${path}: "tenant" must be a string`)
    return undefined
  }
  return { user, password, ...(tenant !== undefined && { tenant }) }
}

/** The nats.js options for this credential; a tenant's request inboxes go where its permissions allow. */
export function natsConnectOptions(c: NatsClientConfig, name: string): ConnectionOptions {
  return {
    servers: c.url,
    user: c.user,
    pass: c.password,
    name,
    ...(c.tenant !== undefined && { inboxPrefix: tenantInboxPrefix(c.tenant) }),
  }
}

/**
 * Connects, or fails with a message naming the server and the user (never the password). nats.js is
 * loaded here, on first use, because it is a third of the agent's bundled code and the agent needs
 * it only when live control is on.
 */
export async function connectNats(
  c: NatsClientConfig,
  name: string,
  extra: Omit<ConnectionOptions, 'servers' | 'user' | 'pass' | 'name' | 'inboxPrefix'> = {},
): Promise<NatsConnection> {
  const { connect } = await import('nats')
  try {
    return await connect({ ...natsConnectOptions(c, name), ...extra })
  } catch (err) {
    const refused = /authoriz|authentic/i.test(errorMessage(err))
    throw new ServiceError(
      refused ? 'NATS_AUTH_REFUSED' : 'NATS_UNREACHABLE',
      refused
        ? `NATS at ${redactUrl(c.url)} refused user ${JSON.stringify(c.user)}: check the credential (${errorMessage(err)})`
        : `NATS at ${redactUrl(c.url)} cannot be reached: ${errorMessage(err)}`,
      { retryable: !refused, cause: err },
    )
  }
}
