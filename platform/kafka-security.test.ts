import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigReader } from './config.ts'
import { ConfigError } from './errors.ts'
import { readKafkaSecurity, type KafkaSecurity } from './kafka-security.ts'

const dir = mkdtempSync(join(tmpdir(), 'procstream-kafka-security-'))
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

function read(env: Record<string, string>): KafkaSecurity {
  const r = new ConfigReader(env)
  const security = readKafkaSecurity(r)
  return r.done({ security }).security
}

function problems(env: Record<string, string>): string {
  try {
    read(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  return 'no problem'
}

describe('readKafkaSecurity', () => {
  it('is plaintext without authentication when nothing is set', () => {
    expect(read({})).toEqual({})
  })

  it('reads SCRAM credentials, the password inline or from a file, and TLS', () => {
    const file = join(dir, 'password')
    writeFileSync(file, 's3cret\n')
    expect(
      read({
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_SASL_USERNAME: 'acme',
        KAFKA_SASL_PASSWORD_FILE: file,
      }),
    ).toEqual({ sasl: { mechanism: 'scram-sha-512', username: 'acme', password: 's3cret' } })
    const ca = join(dir, 'ca.pem')
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    expect(
      read({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'acme',
        KAFKA_SASL_PASSWORD: 'x',
        KAFKA_TLS_CA_FILE: ca,
      }),
    ).toMatchObject({
      sasl: { mechanism: 'plain' },
      ssl: { ca: [expect.stringContaining('BEGIN') as unknown] },
    })
    expect(read({ KAFKA_TLS: 'true' })).toEqual({ ssl: true })
  })

  it('names every problem, and never the password', () => {
    expect(problems({ KAFKA_SASL_USERNAME: 'acme' })).toContain('need KAFKA_SASL_MECHANISM')
    expect(problems({ KAFKA_SASL_MECHANISM: 'gssapi' })).toContain(
      'is not one of scram-sha-256, scram-sha-512, plain',
    )
    const missing = problems({ KAFKA_SASL_MECHANISM: 'scram-sha-256' })
    expect(missing).toContain('needs KAFKA_SASL_USERNAME')
    expect(missing).toContain('needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE')
    expect(
      problems({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'acme',
        KAFKA_SASL_PASSWORD: 'hunter2',
      }),
    ).toMatch(/plain sends the password in clear/)
    const both = problems({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'acme',
      KAFKA_SASL_PASSWORD: 'hunter2',
      KAFKA_SASL_PASSWORD_FILE: join(dir, 'nope'),
    })
    expect(both).toContain('both set')
    expect(both).toContain('cannot be read')
    expect(both).not.toContain('hunter2')
    expect(problems({ KAFKA_TLS_CA_FILE: join(dir, 'password') })).toContain('is not a PEM certificate')
  })
})
