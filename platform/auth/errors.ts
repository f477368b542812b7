import { ProcstreamError } from '../errors.ts'

/**
 * Every way authentication or key management can fail, with the HTTP status each service answers.
 *
 * | code            | status | meaning                                                                 |
 * | --------------- | ------ | ----------------------------------------------------------------------- |
 * | UNAUTHENTICATED | 401    | no key, a key that is not valid, revoked or expired                      |
 * | FORBIDDEN       | 403    | a valid key without the scope this path needs (api-key.ts ROLES), or a   |
 * |                 |        | tenant admin key naming another tenant, or granting `operator`; the      |
 * |                 |        | message never says whether the other tenant exists                       |
 * | INVALID         | 400    | a bad tenant name, scope, expiry or key id in a key-management request   |
 * | CONFLICT        | 409    | the tenant already exists                                                |
 * | UNKNOWN         | 404    | no such tenant or key; to a tenant admin, another tenant's key is        |
 * |                 |        | unknown too, answered word for word as a key id that does not exist     |
 * | BUSY            | 503    | too many unverified keys waiting for their check (a flood of bad keys);  |
 * |                 |        | keys this process has verified before are not affected. Retryable        |
 *
 * Only BUSY is retryable: otherwise the same request with the same key gets the same answer.
 */
export const AUTH_ERRORS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  INVALID: 400,
  CONFLICT: 409,
  UNKNOWN: 404,
  BUSY: 503,
} as const

export type AuthErrorCode = keyof typeof AUTH_ERRORS

export class AuthError extends ProcstreamError {
  readonly component = 'auth'
  declare readonly code: AuthErrorCode
  readonly statusCode: number

  constructor(code: AuthErrorCode, message: string) {
    super(code, message, { retryable: code === 'BUSY' })
    this.statusCode = AUTH_ERRORS[code]
  }
}

/** The headers an AuthError's answer carries, in every service: how to authenticate, when to retry. */
export function authErrorHeaders(err: AuthError): Record<string, string> {
  if (err.statusCode === 401) return { 'www-authenticate': 'Bearer' }
  if (err.code === 'BUSY') return { 'retry-after': '1' }
  return {}
}
