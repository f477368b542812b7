/**
 * `npm run nats-credential -- --tenant acme`: prints the NATS credential of one tenant as JSON
 * (`{ "tenant", "user", "password", "inbox_prefix" }`), the file an agent's NATS_CREDENTIALS_FILE
 * names. The password is derived from the installation secret (platform/nats-auth.ts), so this can
 * be run again at any time and prints the same credential; the server accepts it once the tenant is
 * in its configuration (npm start follows the tenant table by itself; deploy/README.md for Compose
 * and Kubernetes).
 *
 *   --tenant NAME        the tenant (required)
 *   --secret-file F      the installation secret (default: the all-in-one's, <data dir>/nats/nats-secret)
 *   --data-dir D         the all-in-one's data folder (default PROCSTREAM_DATA_DIR, else .data)
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { errorMessage } from '#platform/errors.ts'
import { natsCredentialFor, natsSecretProblem } from '#platform/nats-auth.ts'
import { tenantNameProblem } from '#platform/auth/api-key.ts'
import { readNatsSecret } from './nats.ts'

const USAGE = 'usage: npm run nats-credential -- --tenant NAME [--secret-file F | --data-dir D]'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      'secret-file': { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  })
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  const tenant = values.tenant
  if (tenant === undefined) throw new Error(`--tenant is required\n${USAGE}`)
  const problem = tenantNameProblem(tenant)
  if (problem !== undefined) throw new Error(problem)
  let secret: string
  if (values['secret-file'] !== undefined) {
    const file = values['secret-file']
    secret = (await readFile(file, 'utf8')).trim()
    const bad = natsSecretProblem(file, secret)
    if (bad !== undefined) throw new Error(bad)
  } else {
    const dataDir =
      values['data-dir'] ?? process.env.PROCSTREAM_DATA_DIR ?? resolve(import.meta.dirname, '../../.data')
    secret = await readNatsSecret(resolve(dataDir, 'nats'))
  }
  process.stdout.write(`${JSON.stringify(natsCredentialFor(tenant, secret), null, 2)}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`nats-credential: ${errorMessage(err)}\n`)
  process.exitCode = 1
})
