import { readFileSync } from 'node:fs'
import type { ConfigReader } from './config.ts'

export const SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'plain'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

/** How a client proves who it is to the brokers and whether the connection is encrypted. */
export interface KafkaSecurity {
  sasl?: { mechanism: SaslMechanism; username: string; password: string }
  /** true: TLS with the system's CAs; `{ ca }`: TLS trusting these PEM certificates. */
  ssl?: true | { ca: string[] }
}

/**
 * Kafka credentials from the environment, shared by every component that talks to the brokers:
 * KAFKA_SASL_MECHANISM (scram-sha-256, scram-sha-512 or plain), KAFKA_SASL_USERNAME and
 * KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE (a file keeps the secret out of `ps` and of the
 * environment of child processes), KAFKA_TLS=true and KAFKA_TLS_CA_FILE. Nothing set: plaintext
 * without authentication, as on a local broker.
 */
export function readKafkaSecurity(r: ConfigReader): KafkaSecurity {
  const security: KafkaSecurity = {}
  const mechanism = r.string('KAFKA_SASL_MECHANISM')?.toLowerCase()
  const username = r.string('KAFKA_SASL_USERNAME')
  const inline = r.string('KAFKA_SASL_PASSWORD')
  const passwordFile = r.string('KAFKA_SASL_PASSWORD_FILE')
  if (mechanism === undefined) {
    if (username !== undefined || inline !== undefined || passwordFile !== undefined)
      r.problem(
        'KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD(_FILE) need KAFKA_SASL_MECHANISM (scram-sha-256, scram-sha-512 or plain)',
      )
  } else if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    r.problem(`KAFKA_SASL_MECHANISM=${mechanism} is not one of ${SASL_MECHANISMS.join(', ')}`)
  } else {
    if (username === undefined) r.problem(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME`)
    if (inline !== undefined && passwordFile !== undefined)
      r.problem('KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE are both set: choose one')
    let password = inline
    if (passwordFile !== undefined) {
      try {
        password = readFileSync(passwordFile, 'utf8').trim()
      } catch (err) {
        r.problem(`KAFKA_SASL_PASSWORD_FILE=${passwordFile} cannot be read: ${(err as Error).message}`)
      }
    }
    if (password === undefined && passwordFile === undefined)
      r.problem(`KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE`)
    if (username !== undefined && password !== undefined)
      security.sasl = { mechanism: mechanism as SaslMechanism, username, password }
  }
  const caFile = r.string('KAFKA_TLS_CA_FILE')
  if (caFile !== undefined) {
    try {
      const ca = readFileSync(caFile, 'utf8')
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        r.problem(`KAFKA_TLS_CA_FILE=${caFile} is not a PEM certificate`)
      security.ssl = { ca: [ca] }
    } catch (err) {
      r.problem(`KAFKA_TLS_CA_FILE=${caFile} cannot be read: ${(err as Error).message}`)
    }
  } else if (r.bool('KAFKA_TLS', false)) {
    security.ssl = true
  }
  if (security.sasl?.mechanism === 'plain' && !security.ssl)
    r.problem(
      'KAFKA_SASL_MECHANISM=plain sends the password in clear: use it with KAFKA_TLS=true, or use scram-sha-512',
    )
  return security
}
