/**
 * The deployment files, checked without a container engine or a cluster (neither exists on the
 * machines this runs on): they parse, they refer only to files, services, ports and settings that
 * exist, every workload is bounded, probed and unprivileged, and no secret is committed. One check
 * depends on the machine: `docker compose config`, which runs only where `docker compose version`
 * works and is reported as skipped elsewhere (the distributed deployment issue asks for it there).
 */
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { AGENT_ENV, AGENT_NODE_FLAGS } from '../../agent/build.ts'
import { readIngestConfig } from '../../ingest/src/config.ts'
import { readProcessorConfig } from '../../stream-processors/src/config.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const DEPLOY = join(ROOT, 'deploy')
const COMPOSE_DIR = join(DEPLOY, 'compose')
const K8S_DIR = join(DEPLOY, 'k8s')

type Json = Record<string, unknown>

function walk(dir: string, keep: (file: string) => boolean): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) {
      if (name !== 'node_modules' && name !== '__tests__') out.push(...walk(path, keep))
    } else if (keep(path)) out.push(path)
  }
  return out
}

const rel = (file: string): string => relative(ROOT, file)

/** Every document of a YAML file, with Compose's `<<` merge keys resolved as Compose resolves them. */
function parseYaml(file: string): { docs: unknown[]; problems: string[] } {
  const parsed = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true })
  const list = Array.isArray(parsed) ? parsed : [parsed]
  const problems = list.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message))
  return { docs: list.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined), problems }
}

function loadYaml(file: string): Json[] {
  return parseYaml(file).docs as Json[]
}

/** A YAML scalar as text; a mapping or list as JSON, so one where a name belongs shows as such. */
const text = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? `${v}`
      : v === undefined
        ? ''
        : JSON.stringify(v)

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const obj = (v: unknown): Json => (isObject(v) ? v : {})
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

// ---------------------------------------------------------------------------------------------
// The settings the code reads: collected from the readers' source, so a new setting needs no edit
// here. ConfigReader calls (`r.int('X', …)`), helpers handed the reader and a name
// (`readFamilyIntervals(r, 'X')`), names passed first to a helper in a config.ts (`coarser('X', …)`),
// declarations (`env: 'X'`, platform/config.ts), and direct reads of process.env in
// entry points, the admin CLI and the logger.

const SOURCE_ROOTS = [
  'agent/src',
  'ingest/src',
  'stream-processors/src',
  'query-api/src',
  'storage/src',
  'platform',
  'admin',
  'schemas',
  'deploy/local',
  'all-in-one',
]
const NAME = `([A-Z][A-Z0-9_]*)`
const READER_CALL = new RegExp(`\\b(?:r|reader)\\.\\w+(?:<[^>(]*>)?\\(\\s*'${NAME}'`, 'g')
const HELPER_WITH_READER = new RegExp(`\\(\\s*r\\s*,\\s*'${NAME}'`, 'g')
const CONFIG_HELPER = new RegExp(`\\b\\w+\\(\\s*'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'\\s*,`, 'g')
const ENV_READ = new RegExp(`\\b(?:process\\.env|env)\\.${NAME}`, 'g')
const DECLARATION = new RegExp(`\\benv: '${NAME}'`, 'g')
/** Read by Node.js itself, not by procstream; documented in CONFIGURATION.md all the same. */
const RUNTIME_VARIABLES = ['NODE_EXTRA_CA_CERTS']

function knownVariables(): Set<string> {
  const names = new Set<string>(RUNTIME_VARIABLES)
  for (const root of SOURCE_ROOTS) {
    const files = walk(
      join(ROOT, root),
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'),
    )
    for (const file of files) {
      const text = readFileSync(file, 'utf8')
      const patterns = [READER_CALL, HELPER_WITH_READER, ENV_READ, DECLARATION]
      if (basename(file) === 'config.ts') patterns.push(CONFIG_HELPER)
      for (const pattern of patterns) for (const m of text.matchAll(pattern)) names.add(m[1] as string)
    }
  }
  return names
}

const KNOWN = knownVariables()

/** The first column of the Variables table of deploy/CONFIGURATION.md. */
function documentedVariables(): string[] {
  const text = readFileSync(join(DEPLOY, 'CONFIGURATION.md'), 'utf8')
  const section = text.split(/^## /m).find((s) => s.startsWith('Variables')) ?? ''
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` +\|/gm)].map((m) => m[1] as string)
}

describe('settings', () => {
  it('are found in the readers (the collection itself works)', () => {
    for (const name of [
      'KAFKA_BROKERS',
      'CLICKHOUSE_URL',
      'ROLLUP_1H_TTL_DAYS',
      'AGENT_FAMILY_INTERVALS',
      'LOG_LEVEL',
    ])
      expect(KNOWN).toContain(name)
    expect(KNOWN).not.toContain('KAFKA_UNAVAILABLE')
  })

  it('are documented in deploy/CONFIGURATION.md, each once, and nothing else is', () => {
    const documented = documentedVariables()
    expect(documented.length).toBe(new Set(documented).size)
    expect([...KNOWN].filter((n) => !documented.includes(n)).sort()).toEqual([])
    expect(documented.filter((n) => !KNOWN.has(n)).sort()).toEqual([])
  })
})

describe('the admission bounds', () => {
  it('are read by the gateway and the processor from the same variables, to the same values', () => {
    for (const env of [
      {},
      { RAW_TTL_DAYS: '30' },
      { PROCESSOR_MAX_SAMPLE_AGE_S: '120', PROCESSOR_MAX_SAMPLE_LEAD_S: '5' },
    ]) {
      const gateway = readIngestConfig(env, '/nonexistent').admission
      const processor = readProcessorConfig(env, '/nonexistent').admission
      expect(gateway, JSON.stringify(env)).toEqual(processor)
    }
    expect(readIngestConfig({ RAW_TTL_DAYS: '30' }, '/nonexistent').admission.maxAgeMs).toBe(30 * 86_400_000)
    // Validated the same way: a bad value stops the gateway's start too.
    expect(() => readIngestConfig({ PROCESSOR_MAX_SAMPLE_LEAD_S: '0' }, '/nonexistent')).toThrow(
      /PROCESSOR_MAX_SAMPLE_LEAD_S/,
    )
  })
})

// ---------------------------------------------------------------------------------------------

const YAML_FILES = walk(DEPLOY, (f) => /\.ya?ml$/.test(f))

describe('every YAML file under deploy/', () => {
  it('exists in the expected places', () => {
    const files = YAML_FILES.map(rel)
    expect(files).toEqual(
      expect.arrayContaining(['deploy/compose/single.yaml', 'deploy/compose/cluster.yaml']),
    )
    expect(files).toContain('deploy/k8s/base/kustomization.yaml')
  })

  it.each(YAML_FILES.map(rel))('%s parses without errors or warnings', (file) => {
    const { docs, problems } = parseYaml(join(ROOT, file))
    expect(problems).toEqual([])
    expect(docs.length).toBeGreaterThan(0)
  })
})

// ---------------------------------------------------------------------------------------------

const ROLES = ['agent', 'ingest', 'processor', 'query-api', 'admin']
const COMPOSE_FILES = ['single.yaml', 'cluster.yaml'].map((f) => join(COMPOSE_DIR, f))

interface ComposeService {
  name: string
  spec: Json
}

function services(file: string): ComposeService[] {
  const [doc] = loadYaml(file)
  return Object.entries(obj(doc?.services)).map(([name, spec]) => ({ name, spec: obj(spec) }))
}

const isProcstream = (s: ComposeService): boolean => text(s.spec.image).includes('procstream')

function composeEnv(spec: Json): Record<string, string> {
  const env = spec.environment
  if (Array.isArray(env))
    return Object.fromEntries(
      env.map((e) => {
        const [k, ...v] = text(e).split('=')
        return [k ?? '', v.join('=')]
      }),
    )
  return Object.fromEntries(Object.entries(obj(env)).map(([k, v]) => [k, text(v)]))
}

/** The role a procstream container runs: its command, or the role baked into its entrypoint. */
function composeRole(spec: Json): string | undefined {
  const entry = list(spec.entrypoint).map(String)
  const i = entry.indexOf('/usr/local/bin/procstream')
  if (i >= 0 && entry[i + 1] !== undefined) return entry[i + 1]
  return list(spec.command).map(String)[0]
}

describe.each(COMPOSE_FILES.map(rel))('compose %s', (file) => {
  const path = join(ROOT, file)
  const all = services(path)
  const byName = new Map(all.map((s) => [s.name, s]))
  const [doc] = loadYaml(path)

  it('gives every service an image or a build', () => {
    for (const s of all) expect(s.spec.image ?? s.spec.build, s.name).toBeDefined()
  })

  it('builds procstream services from the repository Dockerfile', () => {
    for (const s of all.filter(isProcstream)) {
      const build = obj(s.spec.build)
      expect(existsSync(resolve(COMPOSE_DIR, text(build.context), text(build.dockerfile))), s.name).toBe(true)
    }
  })

  it('gives every long-running service a healthcheck, and one-shot services restart: "no"', () => {
    for (const s of all) {
      if (s.spec.restart === 'no') continue
      const test = list(obj(s.spec.healthcheck).test)
      expect(test.length, `${s.name} has no healthcheck`).toBeGreaterThan(0)
    }
  })

  it('waits on dependencies with conditions their targets can meet', () => {
    for (const s of all) {
      const deps = s.spec.depends_on
      if (deps === undefined) continue
      expect(isObject(deps), `${s.name}: depends_on without conditions`).toBe(true)
      for (const [target, how] of Object.entries(obj(deps))) {
        const t = byName.get(target)
        expect(t, `${s.name} depends on unknown ${target}`).toBeDefined()
        const condition = obj(how).condition
        if (condition === 'service_healthy')
          expect(obj(t?.spec.healthcheck).test, `${target} has no healthcheck`).toBeDefined()
        else if (condition === 'service_completed_successfully')
          expect(t?.spec.restart, `${target} must be a one-shot`).toBe('no')
        else expect.fail(`${s.name} → ${target}: condition ${text(condition)}`)
      }
    }
  })

  it('runs procstream services as a known role, read-only, with only settings the readers know', () => {
    const ours = all.filter(isProcstream)
    expect(ours.length).toBeGreaterThan(0)
    for (const s of ours) {
      expect(ROLES, s.name).toContain(composeRole(s.spec))
      expect(s.spec.read_only, s.name).toBe(true)
      expect(s.spec.user, s.name).toBeUndefined()
      for (const name of Object.keys(composeEnv(s.spec))) expect(KNOWN, `${s.name}: ${name}`).toContain(name)
    }
  })

  it('keeps secrets in git-ignored files under ./secrets/, referenced as env files or secrets', () => {
    const secrets = obj(doc?.secrets)
    for (const [name, spec] of Object.entries(secrets))
      expect(text(obj(spec).file), name).toMatch(/^\.\/secrets\/[^/]+$/)
    for (const s of all) {
      for (const f of list(s.spec.env_file)) expect(text(f), s.name).toMatch(/^\.\/secrets\/[^/]+\.env$/)
      for (const ref of list(s.spec.secrets)) expect(Object.keys(secrets), s.name).toContain(text(ref))
    }
    const ignore = readFileSync(join(COMPOSE_DIR, 'secrets/.gitignore'), 'utf8').split('\n')
    expect(ignore).toContain('*')
  })

  it('mounts only configuration files that exist', () => {
    for (const s of all) {
      for (const v of list(s.spec.volumes)) {
        const source = text(v).split(':')[0] ?? ''
        if (source.startsWith('./'))
          expect(existsSync(resolve(COMPOSE_DIR, source)), `${s.name}: ${source}`).toBe(true)
      }
    }
  })

  it('points nginx upstreams at services that exist', () => {
    for (const s of all.filter((x) => text(x.spec.image).startsWith('nginx'))) {
      for (const v of list(s.spec.volumes)) {
        const source = text(v).split(':')[0] ?? ''
        const conf = readFileSync(resolve(COMPOSE_DIR, source), 'utf8')
        const hosts = [...conf.matchAll(/^\s*server ([\w.-]+):\d+/gm)].map((m) => m[1] as string)
        expect(hosts.length).toBeGreaterThan(0)
        for (const host of hosts) expect(byName.has(host), `${source}: ${host}`).toBe(true)
      }
    }
  })
})

function clusterXml(): { name: string; shards: string[][] } {
  const xml = readFileSync(join(COMPOSE_DIR, 'clickhouse/cluster.xml'), 'utf8').replace(
    /<!--[\s\S]*?-->/g,
    '',
  )
  const remote = /<remote_servers>\s*<([\w.-]+)>([\s\S]*?)<\/\1>\s*<\/remote_servers>/.exec(xml)
  const shards = [...(remote?.[2] ?? '').matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) => {
    expect(m[1]).toMatch(/<internal_replication>true<\/internal_replication>/)
    return [...(m[1] ?? '').matchAll(/<host>([\w.-]+)<\/host>/g)].map((h) => h[1] as string)
  })
  return { name: remote?.[1] ?? '', shards }
}

describe('compose cluster.yaml topology', () => {
  const all = services(join(COMPOSE_DIR, 'cluster.yaml'))
  const byName = new Map(all.map((s) => [s.name, s]))

  it('runs 3 Kafka brokers in KRaft with replication factor 3 and min.insync.replicas 2', () => {
    const brokers = all.filter((s) => /^kafka-\d$/.test(s.name))
    expect(brokers.map((b) => b.name)).toEqual(['kafka-1', 'kafka-2', 'kafka-3'])
    for (const b of brokers) {
      const env = composeEnv(b.spec)
      expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller')
      expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093')
      expect(env.KAFKA_DEFAULT_REPLICATION_FACTOR).toBe('3')
      expect(env.KAFKA_MIN_INSYNC_REPLICAS).toBe('2')
      expect(env.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${b.name}:9092`)
    }
    const init = list(byName.get('kafka-init')?.spec.command).join(' ')
    expect(init).toMatch(/--replication-factor 3 --config min.insync.replicas=2/)
  })

  it('runs ClickHouse as remote_servers says: 2 shards x 2 replicas, each with its own macros', () => {
    const { name, shards } = clusterXml()
    expect(shards.map((s) => s.length)).toEqual([2, 2])
    shards.forEach((replicas, i) => {
      for (const host of replicas) {
        const node = byName.get(host)
        expect(node, host).toBeDefined()
        expect(node?.spec.hostname).toBe(host)
        const mounts = list(node?.spec.volumes).map(String)
        const macros = mounts.find((m) => m.endsWith(':/etc/clickhouse-server/config.d/macros.xml:ro'))
        expect(macros, host).toBe(
          `./clickhouse/macros/${host}.xml:/etc/clickhouse-server/config.d/macros.xml:ro`,
        )
        const xml = readFileSync(join(COMPOSE_DIR, `clickhouse/macros/${host}.xml`), 'utf8')
        expect(xml).toContain(`<shard>${i + 1}</shard>`)
        expect(xml).toContain(`<replica>${host}</replica>`)
      }
    })
    for (const s of all.filter(isProcstream).filter((x) => composeRole(x.spec) !== 'admin')) {
      expect(composeEnv(s.spec).CLICKHOUSE_PROFILE, s.name).toBe('cluster')
      expect(composeEnv(s.spec).CLICKHOUSE_CLUSTER, s.name).toBe(name)
    }
  })

  it('runs 3 Keeper nodes that the Raft configuration and the servers both list', () => {
    const keeper = readFileSync(join(COMPOSE_DIR, 'clickhouse/keeper.xml'), 'utf8')
    const cluster = readFileSync(join(COMPOSE_DIR, 'clickhouse/cluster.xml'), 'utf8')
    for (const id of [1, 2, 3]) {
      const name = `keeper-${id}`
      expect(composeEnv(obj(byName.get(name)?.spec)).KEEPER_ID).toBe(`${id}`)
      expect(keeper).toContain(`<server><id>${id}</id><hostname>${name}</hostname>`)
      expect(cluster).toContain(`<node><host>${name}</host><port>9181</port></node>`)
    }
  })

  it('runs a 3-node NATS cluster with JetStream, and 3 processors and 2 query APIs', () => {
    const conf = readFileSync(join(COMPOSE_DIR, 'nats/cluster.conf'), 'utf8').replace(/#.*$/gm, '')
    expect(conf).toMatch(/^jetstream \{/m)
    expect(conf).toMatch(/^server_name: \$SERVER_NAME$/m)
    const cluster = /^cluster \{([\s\S]*?)^\}/m.exec(conf)?.[1] ?? ''
    expect(cluster).toMatch(/^\s*name: procstream$/m)
    const routes = [...cluster.matchAll(/"nats:\/\/([\w-]+):6222"/g)]
    expect(routes.map((m) => m[1]).sort()).toEqual(['nats-1', 'nats-2', 'nats-3'])
    for (const n of ['nats-1', 'nats-2', 'nats-3']) {
      const spec = obj(byName.get(n)?.spec)
      expect(composeEnv(spec).SERVER_NAME).toBe(n)
      expect(list(spec.volumes).map(String)).toContain('./nats/cluster.conf:/etc/nats/nats.conf:ro')
    }
    expect(obj(byName.get('processor')?.spec.deploy).replicas).toBe(3)
    expect(all.filter((s) => composeRole(s.spec) === 'query-api').length).toBe(2)
  })
})

describe.each(COMPOSE_FILES.map(rel))('compose %s: NATS requires a login', (file) => {
  const path = join(ROOT, file)
  const all = services(path)
  const [doc] = loadYaml(path)
  const secrets = obj(doc?.secrets)
  const natsServers = all.filter((s) => text(s.spec.image).startsWith('nats:'))

  it('starts every NATS server from a configuration file that includes the generated users, and no flag', () => {
    expect(natsServers.length).toBeGreaterThan(0)
    expect(text(obj(secrets.nats_auth).file)).toBe('./secrets/nats-auth.conf')
    for (const s of natsServers) {
      // Flags are lost on a reload (JetStream with them): everything is in the file.
      expect(list(s.spec.command).map(String), s.name).toEqual(['--config', '/etc/nats/nats.conf'])
      expect(list(s.spec.secrets).map(text), s.name).toContain('nats_auth')
      const mount = list(s.spec.volumes)
        .map(String)
        .find((v) => v.endsWith(':/etc/nats/nats.conf:ro'))
      const conf = readFileSync(resolve(COMPOSE_DIR, mount?.split(':')[0] ?? ''), 'utf8').replace(
        /#.*$/gm,
        '',
      )
      // Compose mounts a secret at /run/secrets/<name>; includes are relative to /etc/nats.
      expect(conf).toMatch(/^include \.\.\/\.\.\/run\/secrets\/nats_auth$/m)
      expect(conf).not.toMatch(/no_auth_user|authorization/)
    }
  })

  it('gives every procstream service that reaches NATS the service user and its password secret', () => {
    const clients = all.filter(isProcstream).filter((s) => composeEnv(s.spec).NATS_URL !== undefined)
    expect(clients.length).toBeGreaterThan(0)
    expect(text(obj(secrets.nats_password).file)).toBe('./secrets/nats-service.password')
    for (const s of clients) {
      const env = composeEnv(s.spec)
      expect(env.NATS_USER, s.name).toBe('procstream')
      expect(env.NATS_PASSWORD_FILE, s.name).toBe('/run/secrets/nats_password')
      expect(env.NATS_PASSWORD, s.name).toBeUndefined()
      expect(list(s.spec.secrets).map(text), s.name).toContain('nats_password')
    }
  })
})

// `docker compose config` is the one check that depends on the machine (see the file's comment).
const dockerCompose = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0

describe('docker compose config', () => {
  it.skipIf(!dockerCompose).each(COMPOSE_FILES.map(rel))(
    'accepts %s (runs only where `docker compose version` works; skipped here otherwise)',
    (file) => {
      // A copy with throwaway secrets: Compose refuses a missing env file even to print the config.
      const dir = mkdtempSync(join(tmpdir(), 'procstream-compose-'))
      try {
        const copy = join(dir, 'deploy/compose')
        cpSync(COMPOSE_DIR, copy, {
          recursive: true,
          filter: (src) => !src.includes(`${COMPOSE_DIR}/secrets/`),
        })
        expect(spawnSync('sh', [join(copy, 'init-secrets.sh')]).status).toBe(0)
        const r = spawnSync('docker', ['compose', '-f', join(copy, basename(file)), 'config', '--quiet'], {
          encoding: 'utf8',
        })
        expect(r.stderr).toBe('')
        expect(r.status).toBe(0)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  )
})

// ---------------------------------------------------------------------------------------------

const KUSTOMIZATIONS = walk(K8S_DIR, (f) => basename(f) === 'kustomization.yaml')
/** Kubernetes objects; Helm values files and kustomizations are not. */
const MANIFEST_FILES = walk(
  K8S_DIR,
  (f) => /\.ya?ml$/.test(f) && basename(f) !== 'kustomization.yaml' && !f.endsWith('-values.yaml'),
)
const OBJECTS = MANIFEST_FILES.flatMap((file) => loadYaml(file).map((o) => ({ file: rel(file), o })))
const WORKLOAD_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet']
const WORKLOADS = OBJECTS.filter(({ o }) => WORKLOAD_KINDS.includes(text(o.kind)))

const podSpec = (o: Json): Json => obj(obj(obj(o.spec).template).spec)
const containers = (o: Json): Json[] => list(podSpec(o).containers).map(obj)
const initContainers = (o: Json): Json[] => list(podSpec(o).initContainers).map(obj)
const nameOf = (o: Json): string => `${text(o.kind)}/${text(obj(o.metadata).name)}`

/** Literals of every configMapGenerator in every kustomization, as KEY → value. */
function generatedConfig(): { file: string; name: string; data: Record<string, string> }[] {
  return KUSTOMIZATIONS.flatMap((file) =>
    list(loadYaml(file)[0]?.configMapGenerator).map((g) => ({
      file: rel(file),
      name: text(obj(g).name),
      data: Object.fromEntries(
        list(obj(g).literals).map((l) => {
          const [k, ...v] = text(l).split('=')
          return [k ?? '', v.join('=')]
        }),
      ),
    })),
  )
}

describe('kubernetes workloads', () => {
  it('exist: gateway, processor, query API and the agent', () => {
    expect(WORKLOADS.map(({ o }) => nameOf(o)).sort()).toEqual([
      'DaemonSet/procstream-agent',
      'Deployment/ingest',
      'Deployment/processor',
      'Deployment/query-api',
    ])
  })

  it.each(WORKLOADS.map(({ o }) => [nameOf(o), o] as const))(
    '%s: every container has requests and limits, liveness and readiness probes on its own ports',
    (_name, o) => {
      for (const c of containers(o)) {
        const r = obj(c.resources)
        for (const k of ['cpu', 'memory']) {
          expect(obj(r.requests)[k], `${text(c.name)} requests.${k}`).toBeDefined()
          expect(obj(r.limits)[k], `${text(c.name)} limits.${k}`).toBeDefined()
        }
        const ports = list(c.ports).map((p) => obj(p))
        for (const probe of ['livenessProbe', 'readinessProbe']) {
          const p = obj(c[probe])
          expect(Object.keys(p), `${text(c.name)} ${probe}`).not.toEqual([])
          const port = obj(p.httpGet).port ?? obj(p.tcpSocket).port
          expect(port, `${text(c.name)} ${probe} port`).toBeDefined()
          expect(
            ports.some((x) => x.name === port || x.containerPort === port),
            `${probe} port ${text(port)}`,
          ).toBe(true)
        }
      }
      for (const c of initContainers(o)) {
        expect(obj(obj(c.resources).limits).memory, `${text(c.name)} limits`).toBeDefined()
      }
    },
  )

  it.each(WORKLOADS.map(({ o }) => [nameOf(o), o] as const))(
    '%s: runs as non-root, read-only, without privilege escalation or capabilities',
    (_name, o) => {
      const pod = obj(podSpec(o).securityContext)
      expect(obj(pod.seccompProfile).type).toBe('RuntimeDefault')
      for (const c of containers(o)) {
        const sc = obj(c.securityContext)
        expect(sc.runAsNonRoot ?? pod.runAsNonRoot, text(c.name)).toBe(true)
        expect(sc.runAsUser ?? pod.runAsUser, text(c.name)).not.toBe(0)
        expect(sc.privileged ?? false).toBe(false)
        expect(sc.allowPrivilegeEscalation).toBe(false)
        expect(sc.readOnlyRootFilesystem).toBe(true)
        expect(obj(sc.capabilities).drop).toEqual(['ALL'])
        expect(obj(sc.capabilities).add).toBeUndefined()
      }
      // The one root container allowed: chown of a hostPath folder, with that capability alone.
      for (const c of initContainers(o)) {
        const sc = obj(c.securityContext)
        if ((sc.runAsUser ?? pod.runAsUser) === 0)
          expect(obj(sc.capabilities), text(c.name)).toEqual({ drop: ['ALL'], add: ['CHOWN'] })
        else expect(sc.runAsNonRoot ?? pod.runAsNonRoot).toBe(true)
      }
    },
  )

  it('mounts the host /proc and / read-only into the agent only', () => {
    for (const { o } of WORKLOADS) {
      const hostPaths = list(podSpec(o).volumes)
        .map(obj)
        .filter((v) => v.hostPath !== undefined)
      if (nameOf(o) !== 'DaemonSet/procstream-agent') {
        expect(hostPaths, nameOf(o)).toEqual([])
        continue
      }
      const mounts = containers(o).flatMap((c) => list(c.volumeMounts).map(obj))
      for (const v of hostPaths) {
        const path = text(obj(v.hostPath).path)
        if (path === '/proc' || path === '/')
          expect(mounts.find((m) => m.name === v.name)?.readOnly, `${path} read-only`).toBe(true)
      }
    }
  })

  it('runs the procstream image as a known role with only settings the readers know', () => {
    const generated = generatedConfig()
    const configMaps = OBJECTS.filter(({ o }) => o.kind === 'ConfigMap')
    for (const { o } of WORKLOADS) {
      for (const c of containers(o)) {
        expect(c.image).toBe('procstream')
        expect(ROLES).toContain(list(c.args).map(String)[0])
        for (const e of list(c.env))
          expect(KNOWN, `${nameOf(o)}: ${text(obj(e).name)}`).toContain(obj(e).name)
        for (const from of list(c.envFrom)) {
          const ref = obj(obj(from).configMapRef).name
          if (ref === undefined) continue
          const found =
            configMaps.some(({ o: m }) => obj(m.metadata).name === ref) ||
            generated.some((g) => g.name === ref)
          expect(found, `${nameOf(o)}: ConfigMap ${text(ref)}`).toBe(true)
        }
      }
    }
    for (const { o } of configMaps)
      for (const key of Object.keys(obj(o.data))) expect(KNOWN, `${nameOf(o)}: ${key}`).toContain(key)
    for (const g of generated)
      for (const key of Object.keys(g.data)) expect(KNOWN, `${g.file}: ${key}`).toContain(key)
  })

  it('has NATS require a login: the chart includes the generated users, clients mount their credential', () => {
    for (const overlay of ['single', 'cluster']) {
      const [values] = loadYaml(join(K8S_DIR, 'overlays', overlay, 'infra/nats-values.yaml'))
      const include = text(obj(obj(values?.config).merge)['00$include'])
      expect(include, overlay).toBe('../procstream-nats-auth/auth.conf')
      const volume = list(obj(values?.podTemplate).patch)
        .map(obj)
        .map((p) => obj(p.value))
      expect(volume, overlay).toContainEqual({
        name: 'procstream-nats-auth',
        secret: { secretName: 'procstream-nats-auth' },
      })
      const mount = list(obj(values?.container).patch)
        .map(obj)
        .map((p) => obj(p.value))
      // A folder, not a subPath: an updated Secret then reaches the running server for a reload.
      expect(mount, overlay).toContainEqual({
        name: 'procstream-nats-auth',
        mountPath: '/etc/procstream-nats-auth',
        readOnly: true,
      })
      expect(resolve('/etc/nats-config', include)).toBe('/etc/procstream-nats-auth/auth.conf')
    }
    const base = generatedConfig().find((g) => g.name === 'procstream')?.data ?? {}
    expect(base.NATS_USER).toBe('procstream')
    const passwordDir = dirname(base.NATS_PASSWORD_FILE ?? '')
    for (const role of ['processor', 'query-api']) {
      const { o } = WORKLOADS.find(({ o: w }) => nameOf(w) === `Deployment/${role}`) ?? { o: {} }
      const volume = list(podSpec(o).volumes)
        .map(obj)
        .find((v) => obj(v.secret).secretName === 'procstream-nats')
      expect(volume, role).toBeDefined()
      const mounts = containers(o).flatMap((c) => list(c.volumeMounts).map(obj))
      expect(mounts.find((m) => m.name === volume?.name)?.mountPath, role).toBe(passwordDir)
    }
    // The agent never gets the service credential: NATS only with a tenant's credential file.
    const agentConfig = OBJECTS.find(({ o }) => nameOf(o) === 'ConfigMap/procstream-agent')?.o
    const agentData = obj(agentConfig?.data)
    if (agentData.NATS_URL !== undefined) expect(agentData.NATS_CREDENTIALS_FILE).toBeDefined()
    expect(agentData.NATS_USER).toBeUndefined()
  })

  it('gives every Deployment a PodDisruptionBudget, and every Service a workload port to reach', () => {
    const pdbs = OBJECTS.filter(({ o }) => o.kind === 'PodDisruptionBudget').map(({ o }) => obj(o.spec))
    const services = OBJECTS.filter(({ o }) => o.kind === 'Service').map(({ o }) => o)
    const labelsOf = (o: Json): Json => obj(obj(obj(o.spec).template).metadata).labels as Json
    const matches = (selector: Json, labels: Json): boolean =>
      Object.entries(selector).every(([k, v]) => obj(labels)[k] === v)
    for (const { o } of WORKLOADS.filter(({ o: w }) => w.kind === 'Deployment'))
      expect(
        pdbs.some((p) => matches(obj(obj(p.selector).matchLabels), labelsOf(o))),
        nameOf(o),
      ).toBe(true)
    expect(services.length).toBeGreaterThan(0)
    for (const s of services) {
      const target = WORKLOADS.find(({ o }) => matches(obj(obj(s.spec).selector), labelsOf(o)))
      expect(target, nameOf(s)).toBeDefined()
      const ports = containers(obj(target?.o)).flatMap((c) => list(c.ports).map((p) => obj(p).name))
      for (const p of list(obj(s.spec).ports)) expect(ports, nameOf(s)).toContain(obj(p).targetPort)
    }
  })

  it('scales the processors on the consumer group and topic they actually read', () => {
    const scaled = OBJECTS.filter(({ o }) => o.kind === 'ScaledObject').map(({ o }) => o)
    expect(scaled.length).toBe(1)
    const spec = obj(scaled[0]?.spec)
    const target = WORKLOADS.find(
      ({ o }) => nameOf(o) === `Deployment/${text(obj(spec.scaleTargetRef).name)}`,
    )
    expect(target).toBeDefined()
    // The autoscaler owns the count; a `replicas` here would be reset on every apply.
    expect(obj(target?.o.spec).replicas).toBeUndefined()
    const trigger = obj(obj(list(spec.triggers)[0]).metadata)
    const base = generatedConfig().find((g) => g.file === 'deploy/k8s/base/kustomization.yaml')?.data ?? {}
    expect(trigger.consumerGroup).toBe(base.PROCESSOR_GROUP_ID)
    expect(trigger.topic).toBe(base.KAFKA_TOPIC)
    expect(text(trigger.bootstrapServers)).toContain(
      `${text(base.KAFKA_BROKERS).split(':')[0]}.procstream.svc`,
    )
  })

  it('points the cluster overlay at the ClickHouse cluster its infrastructure defines', () => {
    const overlay = generatedConfig().find((g) => g.file === 'deploy/k8s/overlays/cluster/kustomization.yaml')
    expect(overlay?.data.CLICKHOUSE_PROFILE).toBe('cluster')
    const chi = loadYaml(join(K8S_DIR, 'overlays/cluster/infra/clickhouse.yaml')).find(
      (o) => o.kind === 'ClickHouseInstallation',
    )
    const clusters = list(obj(obj(chi?.spec).configuration).clusters).map(obj)
    expect(clusters.map((c) => c.name)).toEqual([overlay?.data.CLICKHOUSE_CLUSTER])
    expect(obj(clusters[0]?.layout)).toEqual({ shardsCount: 2, replicasCount: 2 })
  })
})

describe.each(KUSTOMIZATIONS.map(rel))('kustomization %s', (file) => {
  it('lists only files and folders that exist', () => {
    const k = loadYaml(join(ROOT, file))[0] ?? {}
    const dir = dirname(join(ROOT, file))
    const paths = [
      ...list(k.resources).map(String),
      ...list(k.components).map(String),
      ...list(k.patches)
        .map((p) => obj(p).path)
        .filter((p): p is string => typeof p === 'string'),
      ...list(k.configMapGenerator).flatMap((g) => [
        ...list(obj(g).files).map((f) => text(f).split('=').pop() ?? ''),
        ...list(obj(g).envs).map(String),
      ]),
    ]
    expect(paths.length + list(k.configMapGenerator).length).toBeGreaterThan(0)
    for (const p of paths) {
      const target = resolve(dir, p)
      expect(existsSync(target), p).toBe(true)
      if (statSync(target).isDirectory()) expect(existsSync(join(target, 'kustomization.yaml')), p).toBe(true)
    }
    // Secrets are created in the cluster (deploy/README.md), never generated from committed files.
    expect(k.secretGenerator).toBeUndefined()
  })
})

// ---------------------------------------------------------------------------------------------

/** A value that stands for a secret rather than being one. */
const PLACEHOLDER = /^(|\$\{[^}]+\}|<[^>]+>|changeme|CHANGE_ME)$/
const SECRET_KEY = /^(password|passwd|secret|token|api[_-]?key)$/i
const SECRET_ENV = /(PASSWORD|SECRET|TOKEN|_KEY)$/

function secretLiterals(value: unknown, path: string, out: string[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      secretLiterals(v, `${path}[${i}]`, out)
    })
    return
  }
  if (!isObject(value)) return
  // A Kubernetes env entry: a secret-named variable must come from a Secret (valueFrom), not a literal.
  if (typeof value.name === 'string' && 'value' in value && SECRET_ENV.test(value.name))
    out.push(`${path}: env ${value.name} has a literal value`)
  for (const [k, v] of Object.entries(value)) {
    if ((SECRET_KEY.test(k) || SECRET_ENV.test(k)) && typeof v !== 'object' && !PLACEHOLDER.test(text(v)))
      out.push(`${path}.${k} is a literal`)
    secretLiterals(v, `${path}.${k}`, out)
  }
}

describe('no secret is committed', () => {
  it('finds literals where it should (the check itself works)', () => {
    const out: string[] = []
    secretLiterals(
      { a: { password: 'hunter2', env: [{ name: 'KAFKA_SASL_PASSWORD', value: 'x' }] } },
      '',
      out,
    )
    expect(out.length).toBe(2)
  })

  it.each(YAML_FILES.map(rel))('%s has no password, secret or token written in it', (file) => {
    const out: string[] = []
    loadYaml(join(ROOT, file)).forEach((d, i) => {
      secretLiterals(d, `#${i}`, out)
    })
    expect(out).toEqual([])
  })

  it('has no Secret manifest: Secrets are created in the cluster (deploy/README.md)', () => {
    expect(OBJECTS.filter(({ o }) => o.kind === 'Secret').map(({ file: f }) => f)).toEqual([])
  })

  it('takes every password and secret in the ClickHouse configuration from the environment', () => {
    for (const file of walk(join(COMPOSE_DIR, 'clickhouse'), (f) => f.endsWith('.xml'))) {
      const xml = readFileSync(file, 'utf8').replace(/<!--[\s\S]*?-->/g, '')
      expect(xml, rel(file)).not.toMatch(/<(password|secret)>[^<]/)
      for (const m of xml.matchAll(/<(password|secret)\b[^>]*>/g))
        expect(m[0], rel(file)).toMatch(/from_env="/)
    }
  })
})

// ---------------------------------------------------------------------------------------------

describe('the image', () => {
  const dockerfile = readFileSync(join(DEPLOY, 'docker/Dockerfile'), 'utf8')
  const lines = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#'))
  const froms = lines.filter((l) => /^FROM\s/i.test(l))

  it('is built in stages, and its final stage runs as an unprivileged user', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2)
    const stages = froms.map((l) => /\sAS\s+(\S+)/i.exec(l)?.[1])
    for (const m of dockerfile.matchAll(/--from=(\S+)/g)) expect(stages).toContain(m[1])
    const last = lines.slice(lines.lastIndexOf(froms[froms.length - 1] ?? ''))
    const user = last.filter((l) => /^USER\s/i.test(l)).pop()
    expect(user).toBeDefined()
    expect(user?.split(/\s+/)[1]).not.toMatch(/^(root|0)(:|$)/)
  })

  it('copies only what exists, leaves chdb out, and keeps the optional esbuild binary tsx needs', () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm))
      for (const src of (m[1] ?? '').split(/\s+/)) expect(existsSync(join(ROOT, src)), src).toBe(true)
    const instructions = lines.join('\n')
    expect(instructions).toMatch(/rm -rf node_modules\/chdb node_modules\/@chdb/)
    expect(instructions).not.toMatch(/--omit=optional/)
  })

  it('can leave chdb out because platform/clickhouse.ts loads it only without CLICKHOUSE_URL', () => {
    const source = readFileSync(join(ROOT, 'platform/clickhouse.ts'), 'utf8')
    expect(source).not.toMatch(/^import [^;]*from 'chdb/m)
    expect(source).toMatch(/await import\('chdb\/connection'\)/)
  })

  it('has an entry point for every role, each pointing at a file that exists', () => {
    const entry = join(DEPLOY, 'docker/entrypoint.sh')
    expect(statSync(entry).mode & 0o111).not.toBe(0)
    const script = readFileSync(entry, 'utf8')
    for (const role of ROLES) expect(script).toMatch(new RegExp(`^  ${role}\\)$`, 'm'))
    for (const m of script.matchAll(/exec node (?:--import tsx |--[\w-]+=?\S* )*(\S+)/g)) {
      const file = m[1] as string
      expect(existsSync(join(ROOT, file)) || file === 'dist/agent/agent.mjs', file).toBe(true)
    }
  })

  it('launches the agent with the flags and environment agent/build.ts measured, as systemd does', () => {
    const script = readFileSync(join(DEPLOY, 'docker/entrypoint.sh'), 'utf8')
    const unit = readFileSync(join(DEPLOY, 'systemd/procstream-agent.service'), 'utf8')
    const launch = `node ${AGENT_NODE_FLAGS.join(' ')} dist/agent/agent.mjs`
    const env = Object.entries(AGENT_ENV).map(([k, v]) => `${k}=${v}`)
    expect(script).toContain(`exec ${launch} "$@"`)
    // Defaults the container's own environment may override.
    const defaults = Object.entries(AGENT_ENV).map(([k, v]) => `${k}="\${${k}:-${v}}"`)
    expect(script).toContain(`export ${defaults.join(' ')}\n`)
    expect(unit).toMatch(new RegExp(`^ExecStart=/usr/bin/${launch}$`, 'm'))
    expect(unit).toContain(`Environment=${env.join(' ')}\n`)
  })

  it('is built from a context that leaves out data, dependencies and secrets', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')
    for (const entry of ['.git', '.data', 'node_modules', 'deploy', '**/*.env', '**/*.key'])
      expect(ignore).toContain(entry)
  })
})
