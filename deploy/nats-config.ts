/**
 * `npm run nats-config -- --secrets-dir deploy/compose/secrets --tenants acme,beta`: writes the
 * NATS `authorization` block of a Compose or Kubernetes installation (the same generator the
 * all-in-one uses, platform/nats-auth.ts) from the service password, the installation secret and
 * the tenant list. Run it again after creating a tenant, then have the servers reload
 * (deploy/README.md): nothing else changes, and the credentials of existing tenants stay the same.
 *
 *   --secrets-dir D      holds nats-service.password and nats.secret (deploy/compose/init-secrets.sh)
 *   --tenants LIST       comma-separated tenant names (may be empty: the service user only)
 *   --out F              where to write (mode 0600); default <secrets dir>/nats-auth.conf; - for stdout
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { errorMessage } from '#platform/errors.ts'
import { natsSecretProblem, renderNatsAuthorization } from '#platform/nats-auth.ts'

const USAGE = 'usage: npm run nats-config -- --secrets-dir D --tenants a,b [--out F|-]'

async function secretFrom(file: string): Promise<string> {
  const value = (await readFile(file, 'utf8')).trim()
  const problem = natsSecretProblem(file, value)
  if (problem !== undefined) throw new Error(problem)
  return value
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'secrets-dir': { type: 'string' },
      tenants: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const dir = values['secrets-dir']
  if (dir === undefined || values.tenants === undefined)
    throw new Error(`--secrets-dir and --tenants are required\n${USAGE}`)
  const tenants = values.tenants
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
  const text = renderNatsAuthorization({
    servicePassword: await secretFrom(join(dir, 'nats-service.password')),
    secret: await secretFrom(join(dir, 'nats.secret')),
    tenants,
  })
  const out = values.out ?? join(dir, 'nats-auth.conf')
  if (out === '-') {
    process.stdout.write(text)
    return
  }
  // Rewritten in place, not renamed over: Docker bind-mounts a file by its inode, and a running
  // server reloading after a rename would still read the old file.
  await writeFile(out, text, { mode: 0o600 })
  process.stderr.write(`wrote ${out} (${String(new Set(tenants).size)} tenant(s))\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`nats-config: ${errorMessage(err)}\n`)
  process.exitCode = 1
})
