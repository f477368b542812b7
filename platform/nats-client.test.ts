import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigReader, type Env } from './config.ts'
import { natsConnectOptions, readNatsClient, type NatsRole } from './nats-client.ts'

const dir = mkdtempSync(join(tmpdir(), 'procstream-nats-client-'))
function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text, { mode: 0o600 })
  return path
}

function read(env: Env, role: NatsRole = 'service'): ReturnType<typeof readNatsClient> {
  const r = new ConfigReader(env)
  const c = readNatsClient(r, role)
  r.done({})
  return c
}

const URL_ = 'nats://nats:4222'

describe('readNatsClient', () => {
  it('is off without NATS_URL, and refuses credentials without it', () => {
    expect(read({})).toBeUndefined()
    expect(() => read({ NATS_USER: 'procstream', NATS_PASSWORD: 'p' })).toThrow(/NATS_URL is not/)
  })

  it('refuses NATS_URL without a credential: the server refuses anonymous clients', () => {
    expect(() => read({ NATS_URL: URL_ })).toThrow(/no NATS credential.*NATS_CREDENTIALS_FILE/)
  })

  it('refuses credentials inside the URL, without echoing the password', () => {
    let message = ''
    try {
      read({ NATS_URL: 'nats://procstream:s3cret@nats:4222', NATS_USER: 'procstream', NATS_PASSWORD: 'p' })
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/must not carry credentials/)
    expect(message).not.toContain('s3cret')
  })

  it('reads the service user with a password file', () => {
    const c = read({ NATS_URL: URL_, NATS_USER: 'procstream', NATS_PASSWORD_FILE: file('pw', 'pass-word\n') })
    expect(c).toEqual({ url: URL_, user: 'procstream', password: 'pass-word', tenant: undefined })
    expect(c && natsConnectOptions(c, 'x')).toEqual({
      servers: URL_,
      user: 'procstream',
      pass: 'pass-word',
      name: 'x',
    })
  })

  it('refuses a user without a password, two passwords, and an unreadable file', () => {
    expect(() => read({ NATS_URL: URL_, NATS_USER: 'procstream' })).toThrow(/without NATS_PASSWORD_FILE/)
    expect(() =>
      read({
        NATS_URL: URL_,
        NATS_USER: 'procstream',
        NATS_PASSWORD: 'a',
        NATS_PASSWORD_FILE: file('pw2', 'b'),
      }),
    ).toThrow(/both set/)
    expect(() =>
      read({ NATS_URL: URL_, NATS_USER: 'procstream', NATS_PASSWORD_FILE: join(dir, 'missing') }),
    ).toThrow(/cannot be read \(ENOENT\)/)
  })

  it('reads a tenant credential file, with the tenant from the user name and inboxes where it may read', () => {
    const path = file('acme.json', JSON.stringify({ tenant: 'acme', user: 'tenant-acme', password: 'pw' }))
    const c = read({ NATS_URL: URL_, NATS_CREDENTIALS_FILE: path }, 'tenant')
    expect(c).toEqual({ url: URL_, user: 'tenant-acme', password: 'pw', tenant: 'acme' })
    expect(c && natsConnectOptions(c, 'agent').inboxPrefix).toBe('_INBOX.tenant-acme')
  })

  it('refuses a credential file whose tenant and user disagree, or that is not one', () => {
    const lying = file(
      'lying.json',
      JSON.stringify({ tenant: 'globex', user: 'tenant-acme', password: 'pw' }),
    )
    expect(() => read({ NATS_URL: URL_, NATS_CREDENTIALS_FILE: lying }, 'tenant')).toThrow(
      /says tenant "globex" but its user "tenant-acme" belongs to "acme"/,
    )
    expect(() => read({ NATS_URL: URL_, NATS_CREDENTIALS_FILE: file('bad.json', 'not json') })).toThrow(
      /not JSON/,
    )
    expect(() => read({ NATS_URL: URL_, NATS_CREDENTIALS_FILE: file('empty.json', '{}') })).toThrow(
      /must hold/,
    )
  })

  it('holds each component to its role: the service credential for services, a tenant’s for agents', () => {
    const acme = file('acme2.json', JSON.stringify({ user: 'tenant-acme', password: 'pw' }))
    expect(() => read({ NATS_URL: URL_, NATS_CREDENTIALS_FILE: acme }, 'service')).toThrow(
      /must be the service user "procstream", not "tenant-acme"/,
    )
    expect(() => read({ NATS_URL: URL_, NATS_USER: 'procstream', NATS_PASSWORD: 'pw' }, 'tenant')).toThrow(
      /not a tenant's/,
    )
  })
})
