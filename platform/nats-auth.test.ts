import { describe, expect, it } from 'vitest'
import {
  natsCredentialFor,
  renderNatsAuthorization,
  tenantInboxPrefix,
  tenantNatsPassword,
  tenantOfNatsUser,
} from './nats-auth.ts'

const SECRET = 'A'.repeat(43)
const SERVICE = 'b'.repeat(43)

describe('tenant NATS credentials', () => {
  it('derive the password from the secret and the name: stable, and different per tenant and secret', () => {
    expect(tenantNatsPassword('acme', SECRET)).toBe(tenantNatsPassword('acme', SECRET))
    expect(tenantNatsPassword('acme', SECRET)).not.toBe(tenantNatsPassword('globex', SECRET))
    expect(tenantNatsPassword('acme', SECRET)).not.toBe(tenantNatsPassword('acme', 'C'.repeat(43)))
    // HMAC-SHA256 in base64url: 43 characters, nothing the configuration parser reads specially.
    expect(tenantNatsPassword('acme', SECRET)).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('name the user, the tenant and where its request inboxes live', () => {
    expect(natsCredentialFor('acme', SECRET)).toEqual({
      tenant: 'acme',
      user: 'tenant-acme',
      password: tenantNatsPassword('acme', SECRET),
      inbox_prefix: '_INBOX.tenant-acme',
    })
    expect(tenantInboxPrefix('a_b-1')).toBe('_INBOX.tenant-a_b-1')
  })

  it('read the tenant back from a user name, and nothing from any other name', () => {
    expect(tenantOfNatsUser('tenant-acme')).toBe('acme')
    expect(tenantOfNatsUser('procstream')).toBeUndefined()
    expect(tenantOfNatsUser('tenant-')).toBeUndefined()
    expect(tenantOfNatsUser('tenant-ACME')).toBeUndefined()
    expect(tenantOfNatsUser('tenant-a.b')).toBeUndefined()
  })

  it('refuse a short or oddly lettered secret', () => {
    expect(() => tenantNatsPassword('acme', 'short')).toThrow(/32 to 256/)
    expect(() => tenantNatsPassword('acme', `${'A'.repeat(40)}"$x`)).toThrow(/base64url/)
  })
})

describe('renderNatsAuthorization', () => {
  const text = renderNatsAuthorization({
    servicePassword: SERVICE,
    secret: SECRET,
    tenants: ['globex', 'acme', 'acme'],
  })

  it('writes the service user with every procstream subject, and each tenant once, sorted', () => {
    expect(text).toContain(
      `{ user: "procstream", password: "${SERVICE}", permissions: {\n        publish: { allow: ["procstream.>", "_INBOX.>", "$JS.API.>"] },\n        subscribe: { allow: ["procstream.>", "_INBOX.>"] } } }`,
    )
    expect(text.match(/user: "tenant-acme"/g)).toHaveLength(1)
    expect(text.indexOf('tenant-acme')).toBeLessThan(text.indexOf('tenant-globex'))
  })

  it('gives a tenant its own live, control and inbox subjects only, and responses to requests', () => {
    const acme = text.slice(text.indexOf('user: "tenant-acme"'), text.indexOf('user: "tenant-globex"'))
    expect(acme).toContain(`password: "${tenantNatsPassword('acme', SECRET)}"`)
    expect(acme).toContain('publish: { allow: ["procstream.control.acme.>"] }')
    expect(acme).toContain(
      'subscribe: { allow: ["procstream.live.acme.>", "procstream.control.acme.>", "_INBOX.tenant-acme.>"] }',
    )
    expect(acme).toContain('allow_responses: true')
    expect(acme).not.toContain('globex')
    expect(acme).not.toMatch(/"procstream\.>"|"_INBOX\.>"/)
  })

  it('renders a block with no tenant at all: the service user only', () => {
    const only = renderNatsAuthorization({ servicePassword: SERVICE, secret: SECRET, tenants: [] })
    expect(only.match(/user: /g)).toHaveLength(1)
    expect(only).toMatch(/^authorization \{$/m)
  })

  it.each([
    ['a quote that would end the string', 'acme", permissions: {}'],
    ['a wildcard', 'acme.>'],
    ['a dot, a subject separator', 'a.b'],
    ['a variable', '$HOME'],
    ['uppercase', 'Acme'],
    ['a newline', 'acme\nauthorization'],
    ['nothing', ''],
    ['a leading dash', '-acme'],
    ['more than 63 characters', 'a'.repeat(64)],
  ])('refuses a tenant name with %s, writing nothing', (_why, name) => {
    expect(() =>
      renderNatsAuthorization({ servicePassword: SERVICE, secret: SECRET, tenants: ['acme', name] }),
    ).toThrow(/tenant name/)
  })

  it('refuses a service password or secret the parser could read as more than a string', () => {
    for (const bad of [`${SERVICE}"`, `${SERVICE}$x`, `${SERVICE} x`, 'short']) {
      expect(() => renderNatsAuthorization({ servicePassword: bad, secret: SECRET, tenants: [] })).toThrow(
        /service password/,
      )
      expect(() => renderNatsAuthorization({ servicePassword: SERVICE, secret: bad, tenants: [] })).toThrow(
        /installation secret/,
      )
    }
  })
})
