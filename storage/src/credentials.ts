import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { StorageError } from './errors.ts'

export interface Credentials {
  user: string
  password: string
}

/**
 * The credentials of a request, wherever ClickHouse's HTTP interface accepts them: HTTP basic auth
 * (what `@clickhouse/client` sends), the X-ClickHouse-User/Key headers, or the user/password URL
 * parameters. A request with none is the `default` user with an empty password, as on a server.
 */
export function credentialsOf(headers: IncomingHttpHeaders, search: URLSearchParams): Credentials {
  const auth = headers.authorization
  if (auth !== undefined) {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth)
    if (!match?.[1])
      throw new StorageError('AUTHENTICATION_FAILED', 'only HTTP basic authentication is accepted')
    const decoded = Buffer.from(match[1], 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) throw new StorageError('AUTHENTICATION_FAILED', 'malformed basic authentication')
    return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
  }
  const headerUser = headers['x-clickhouse-user']
  const headerKey = headers['x-clickhouse-key']
  return {
    user: (typeof headerUser === 'string' ? headerUser : undefined) ?? search.get('user') ?? 'default',
    password: (typeof headerKey === 'string' ? headerKey : undefined) ?? search.get('password') ?? '',
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Compares in constant time, so the answer's timing tells nothing about the password. */
export function checkCredentials(given: Credentials, expected: Credentials): void {
  const userOk = timingSafeEqual(digest(given.user), digest(expected.user))
  const passwordOk = timingSafeEqual(digest(given.password), digest(expected.password))
  if (!userOk || !passwordOk)
    // The same words as a server, naming neither which part was wrong nor the password.
    throw new StorageError(
      'AUTHENTICATION_FAILED',
      `${given.user}: Authentication failed: password is incorrect, or there is no user with such name`,
    )
}
