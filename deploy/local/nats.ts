import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ServiceError, errorMessage } from '#platform/errors.ts'
import type { Logger } from '#platform/logger.ts'
import { tenantNameProblem } from '#platform/auth/api-key.ts'
import { NATS_SERVICE_USER, natsSecretProblem, renderNatsAuthorization } from '#platform/nats-auth.ts'
import { assertPortFree } from './ports.ts'
import { describeExit, httpOk, probeCommand, startUntilReady } from './service-process.ts'

export interface LocalNats {
  url: string
  logFile: string
  pid: number
  /** The service user's credential: processors, the query API and the gateway log in with it. */
  credential: { user: string; password: string }
  /** The installation secret tenant credentials are derived from (natsCredentialFor). */
  secret: string
  /** The generated configuration (mode 0600): the authorization block. */
  configFile: string
  /**
   * Rewrites the configuration for these tenants and has the server reload it, when the set differs
   * from the one in force; resolves once the server reports the new configuration loaded. Returns
   * whether it reloaded.
   */
  reload(tenants: readonly string[]): Promise<boolean>
  stop(): Promise<void>
}

export interface StartNatsOptions {
  dataDir: string
  /** Tenants whose credentials the server accepts from the start. */
  tenants?: readonly string[]
  port?: number
  monitorPort?: number
  log?: (line: string) => void
  readyTimeoutMs?: number
}

const HOST = '127.0.0.1'

/** The secrets of the local installation's NATS, kept (mode 0600) beside its data. */
export interface NatsSecrets {
  servicePassword: string
  secret: string
}

export const NATS_SECRET_FILE = 'nats-secret'
export const NATS_SERVICE_PASSWORD_FILE = 'service-password'

async function readOrCreateSecret(file: string): Promise<string> {
  let value: string | undefined
  try {
    value = (await readFile(file, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (value !== undefined) {
    const problem = natsSecretProblem(file, value)
    // A damaged secret is not replaced silently: every credential handed out would stop working.
    if (problem !== undefined) throw new ServiceError('NATS_SECRET_INVALID', problem)
    return value
  }
  value = randomBytes(32).toString('base64url')
  // 'wx': two starts racing on a new data folder must not each write a different secret.
  await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' }).catch(async (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    value = (await readFile(file, 'utf8')).trim()
  })
  return value
}

/** Made once per data folder; a restart, and `npm run nats-credential`, read the same ones. */
export async function ensureNatsSecrets(natsDir: string): Promise<NatsSecrets> {
  await mkdir(natsDir, { recursive: true, mode: 0o700 })
  return {
    servicePassword: await readOrCreateSecret(join(natsDir, NATS_SERVICE_PASSWORD_FILE)),
    secret: await readOrCreateSecret(join(natsDir, NATS_SECRET_FILE)),
  }
}

/** The installation secret of an existing local NATS, without creating one. */
export async function readNatsSecret(natsDir: string): Promise<string> {
  const file = join(natsDir, NATS_SECRET_FILE)
  let value: string
  try {
    value = (await readFile(file, 'utf8')).trim()
  } catch (err) {
    throw new ServiceError(
      'NATS_SECRET_MISSING',
      `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): has npm start run with this data folder?`,
    )
  }
  const problem = natsSecretProblem(file, value)
  if (problem !== undefined) throw new ServiceError('NATS_SECRET_INVALID', problem)
  return value
}

/**
 * A path as a quoted string of the server's configuration. Its parser reads escapes and variables,
 * so a path holding a quote, a backslash, a `$` or a control character is refused rather than escaped.
 */
function quotePath(path: string): string {
  // eslint-disable-next-line no-control-regex
  if (/["\\$\x00-\x1f\x7f]/.test(path))
    throw new ServiceError(
      'NATS_PATH_UNSUPPORTED',
      `the NATS data folder ${JSON.stringify(path)} holds a quote, backslash, $ or control character: choose another PROCSTREAM_DATA_DIR`,
    )
  return `"${path}"`
}

/** Written to a temporary name and renamed, so the server never reads half a file. */
async function writeConfig(file: string, text: string): Promise<void> {
  const tmp = `${file}.${String(process.pid)}.tmp`
  await writeFile(tmp, text, { mode: 0o600 })
  await rename(tmp, file)
}

async function configLoadTime(monitorPort: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${HOST}:${monitorPort}/varz`, { signal: AbortSignal.timeout(2_000) })
    const body = (await res.json()) as { config_load_time?: unknown }
    return typeof body.config_load_time === 'string' ? body.config_load_time : undefined
  } catch {
    return undefined
  }
}

function healthy(monitorPort: number): Promise<boolean> {
  return httpOk(`http://${HOST}:${monitorPort}/healthz`)
}

/**
 * Starts Debian's `nats-server` with JetStream, bound to 127.0.0.1, its store and log under `dataDir`,
 * requiring a user and password of every client: the service user and one user per tenant
 * (platform/nats-auth.ts). Ready once the monitoring `/healthz` answers 200, which in 2.9 also covers
 * JetStream.
 */
export async function startNats(opts: StartNatsOptions): Promise<LocalNats> {
  const log = opts.log ?? (() => undefined)
  const port = opts.port ?? 4222
  const monitorPort = opts.monitorPort ?? 8222
  const dataDir = resolve(opts.dataDir)
  const logFile = join(dataDir, 'logs', 'nats.log')
  const url = `nats://${HOST}:${port}`

  if ((await probeCommand('nats-server', ['--version'])) === null) {
    throw new ServiceError(
      'NATS_NOT_INSTALLED',
      'nats-server not found on PATH: install it with `apt-get install -y nats-server`',
    )
  }
  await assertPortFree(port, 'NATS client', 'NATS_PORT_IN_USE')
  await assertPortFree(monitorPort, 'NATS monitoring', 'NATS_PORT_IN_USE')
  await mkdir(join(dataDir, 'logs'), { recursive: true })
  const secrets = await ensureNatsSecrets(dataDir)
  const configFile = join(dataDir, 'nats.conf')
  // Everything in the file, nothing in flags: a reload compares the file's settings with those in
  // force and refuses to reload when a flag-only one (server_name) seems to have changed.
  const serverBlock = [
    // A fixed name keeps JetStream's stored state attached to the same server across restarts.
    `server_name: "procstream-local"`,
    `listen: "${HOST}:${String(port)}"`,
    `http: "${HOST}:${String(monitorPort)}"`,
    `jetstream { store_dir: ${quotePath(join(dataDir, 'jetstream'))} }`,
    '',
  ].join('\n')
  const render = (tenants: readonly string[]): string =>
    serverBlock +
    renderNatsAuthorization({ servicePassword: secrets.servicePassword, secret: secrets.secret, tenants })
  let tenantsInForce = [...new Set(opts.tenants ?? [])].sort()
  await writeConfig(configFile, render(tenantsInForce))

  const started = Date.now()
  log(`starting NATS on ${url} (log: ${logFile})`)
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000
  const server = await startUntilReady({
    start: {
      command: 'nats-server',
      args: ['-c', configFile],
      logFile,
      errorCode: 'NATS_START_FAILED',
      what: 'nats-server',
    },
    probe: () => healthy(monitorPort),
    timeoutMs: readyTimeoutMs,
    intervalMs: 100,
    exitedCode: 'NATS_EXITED',
    notReadyCode: 'NATS_NOT_READY',
    notReady: `not healthy after ${readyTimeoutMs / 1000} s on ${url}`,
  })
  log(`NATS ready on ${url} in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${server.pid})`)

  let reloading = Promise.resolve(false)
  const reload = async (tenants: readonly string[]): Promise<boolean> => {
    const next = [...new Set(tenants)].sort()
    if (next.join(',') === tenantsInForce.join(',')) return false
    const before = await configLoadTime(monitorPort)
    await writeConfig(configFile, render(next))
    process.kill(server.pid, 'SIGHUP')
    const deadline = Date.now() + 10_000
    for (;;) {
      const now = await configLoadTime(monitorPort)
      if (now !== undefined && now !== before) break
      if (Date.now() > deadline)
        throw new ServiceError(
          'NATS_RELOAD_FAILED',
          `nats-server did not load ${configFile} within 10 s (see ${logFile})`,
          { retryable: true },
        )
      await new Promise((r) => setTimeout(r, 50))
    }
    tenantsInForce = next
    log(`NATS reloaded for ${String(next.length)} tenant(s)`)
    return true
  }

  return {
    url,
    logFile,
    pid: server.pid,
    credential: { user: NATS_SERVICE_USER, password: secrets.servicePassword },
    secret: secrets.secret,
    configFile,
    // One at a time: two overlapping reloads could each see the other's load time.
    reload: (tenants) => {
      const next = reloading.catch(() => false).then(() => reload(tenants))
      reloading = next
      return next
    },
    stop: async () => {
      const exit = await server.stop(15_000)
      log(`NATS stopped (${describeExit(exit)})`)
    },
  }
}

/**
 * Keeps the server's users equal to the tenant table: reads it now (a failure here fails the start)
 * and then every `everyMs`, reloading the server when the set changed. A name the renderer would
 * refuse is left out and logged: that tenant gets no NATS user rather than stopping every other one.
 */
export async function followTenants(
  nats: Pick<LocalNats, 'reload'>,
  store: { listTenants(): Promise<readonly { name: string }[]> },
  everyMs: number,
  logger: Logger,
): Promise<{ stop(): void }> {
  const refused = new Set<string>()
  const sync = async (): Promise<void> => {
    const names: string[] = []
    for (const { name } of await store.listTenants()) {
      const problem = tenantNameProblem(name)
      if (problem === undefined) names.push(name)
      else if (!refused.has(name)) {
        refused.add(name)
        logger.warn({ tenant: name, problem }, 'tenant left out of the NATS users')
      }
    }
    if (await nats.reload(names)) logger.info({ tenants: names.length }, 'NATS users follow the tenant table')
  }
  await sync()
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    sync()
      .catch((err: unknown) => {
        logger.warn({ error: errorMessage(err) }, 'NATS users not refreshed; trying again')
      })
      .finally(() => {
        running = false
      })
  }, everyMs)
  timer.unref()
  return {
    stop: () => {
      clearInterval(timer)
    },
  }
}
