import { CatalogueError, defineErrors, statusesOf } from '../errors.ts'

/**
 * Every way authentication or key management can fail, with the HTTP status each service answers.
 * Only BUSY is retryable: otherwise the same request with the same key gets the same answer.
 */
export const AUTH_CATALOGUE = defineErrors({
  UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    message: 'no key, a key that is not valid, revoked or expired',
  },
  FORBIDDEN: {
    status: 403,
    retryable: false,
    message:
      'a valid key without the scope this path needs (api-key.ts ROLES), or a tenant admin key naming ' +
      'another tenant, or granting `operator`; the message never says whether the other tenant exists',
  },
  INVALID: {
    status: 400,
    retryable: false,
    message: 'a bad tenant name, scope, expiry or key id in a key-management request',
  },
  CONFLICT: { status: 409, retryable: false, message: 'the tenant already exists' },
  UNKNOWN: {
    status: 404,
    retryable: false,
    message:
      "no such tenant or key; to a tenant admin, another tenant's key is unknown too, answered word " +
      'for word as a key id that does not exist',
  },
  BUSY: {
    status: 503,
    retryable: true,
    message:
      'too many unverified keys waiting for their check (a flood of bad keys); keys this process has ' +
      'verified before are not affected',
  },
})

/** `{ CODE: status }`, as importers read it. */
export const AUTH_ERRORS = statusesOf(AUTH_CATALOGUE)

export type AuthErrorCode = keyof typeof AUTH_CATALOGUE

export class AuthError extends CatalogueError<AuthErrorCode> {
  readonly component = 'auth'
  declare readonly statusCode: number

  constructor(code: AuthErrorCode, message: string) {
    super(AUTH_CATALOGUE, code, message)
  }
}

/** The headers an AuthError's answer carries, in every service: how to authenticate, when to retry. */
export function authErrorHeaders(err: AuthError): Record<string, string> {
  if (err.statusCode === 401) return { 'www-authenticate': 'Bearer' }
  if (err.code === 'BUSY') return { 'retry-after': '1' }
  return {}
}
