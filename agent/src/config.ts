import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { readKafkaSecurity, type KafkaSecurity } from '#platform/kafka-security.ts'
import { ConfigReader, type Env } from '#platform/config.ts'
import { readNatsClient, type NatsClientConfig } from '#platform/nats-client.ts'
import { SAMPLES_TOPIC as DEFAULT_TOPIC } from '#schemas/src/kafka-topic.ts'
import { DEFAULT_VMSTAT_FIELDS } from '#schemas/src/node-exporter.ts'
import { collectorOptions } from './node-collectors.ts'
import { isScheduled, MAX_INTERVAL_MS, MIN_INTERVAL_MS, SCHEDULED, type ScheduleChange } from './schedule.ts'
import { isUsableKey } from './sink/ingest-transport.ts'
import type { FsyncPolicy } from './sink/spool.ts'

export type OutputFormat = 'kafka' | 'prometheus' | 'json'

export interface AgentConfig {
  once: boolean
  format: OutputFormat
  procfs: string
  /** node_exporter's --path.sysfs. */
  sysfs: string
  /** node_exporter's --path.udev.data: udev's database, for disk model, serial and WWN. */
  udevData: string
  /** `<collector>.<option>` → value: node_exporter-style filters (device-include, fields, …). */
  collectorOptions: Readonly<Record<string, string>>
  intervalMs: number
  brokers: string[]
  /** Credentials for producing to Kafka directly; never logged. */
  kafkaSecurity: KafkaSecurity
  topic: string
  /** Send through the ingest gateway instead of Kafka; `key` must never be logged. */
  ingest: { url: string; key: string } | undefined
  /** With a NATS credential, its tenant (the server lets it reach no other); else --tenant. */
  tenant: string
  hostId: string | undefined
  rootfs: string
  /** Live control over NATS, with a tenant's credential (never the service's); password never logged. */
  nats: (NatsClientConfig & { tenant: string }) | undefined
  /** With --ingest and no NATS credential: long-poll the gateway for control requests. */
  gatewayControl: boolean
  groups: string[]
  /** Where unsent records go while Kafka or the gateway is away; undefined keeps them in memory only. */
  spoolDir: string | undefined
  spoolMaxBytes: number
  spoolFsync: FsyncPolicy
  spoolFsyncIntervalMs: number
  /** How long records wait to be batched into one Kafka message or gateway request. */
  batchMs: number
  /** /proc/vmstat fields to keep (node_exporter's --collector.vmstat.fields). */
  vmstatFields: RegExp
  /** Per-family and per-collector departures from the common interval (filesystem every 60 s, vmstat off, interrupts on). */
  familyIntervals: ScheduleChange
  /** Where to serve the agent's own /metrics; undefined: not served. */
  metricsListen: { host: string; port: number } | undefined
}

const DEFAULT_METRICS_LISTEN = '127.0.0.1:9464'

/** Every flag with its environment equivalent; `--help` prints this table. */
const FLAGS = [
  ['--once', '', 'take one sample, print it (with --format) and exit'],
  [
    '--format FMT',
    'AGENT_FORMAT',
    'kafka (default: send, to Kafka or --ingest), prometheus or json (print to stdout)',
  ],
  [
    '--procfs DIR',
    'PROCFS',
    'where /proc is mounted (default /proc), e.g. a host /proc in a container or a fixture tree',
  ],
  [
    '--sysfs DIR',
    'SYSFS',
    'where /sys is mounted (default /sys), e.g. a host /sys in a container or a fixture tree',
  ],
  ['--udev-data DIR', 'UDEV_DATA', "udev's database, for disk model and serial (default /run/udev/data)"],
  ['--interval MS', 'AGENT_INTERVAL_MS', 'sampling interval in milliseconds, 10 to 10000 (default 1000)'],
  [
    '--family-intervals L',
    'AGENT_FAMILY_INTERVALS',
    'per-family or per-collector interval in ms, on or off, e.g. cpu=100,filesystem=60000,vmstat=off,wifi=on (agent/README.md lists them and their defaults)',
  ],
  [
    '--collector-option K=V',
    'AGENT_COLLECTOR_OPTIONS',
    "a collector's filter or setting, e.g. netclass.ignored-devices=^veth; repeatable (env: one per line); agent/README.md lists them with node_exporter's defaults",
  ],
  [
    '--brokers LIST',
    'KAFKA_BROKERS',
    'comma-separated host:port of Kafka brokers (default 127.0.0.1:9092); not with --ingest',
  ],
  ['--topic NAME', 'KAFKA_TOPIC', `Kafka topic (default ${DEFAULT_TOPIC})`],
  [
    '--sasl-mechanism M',
    'KAFKA_SASL_MECHANISM',
    "Kafka SASL: scram-sha-512, scram-sha-256 or plain (plain only with TLS); the tenant's own credentials",
  ],
  ['--sasl-username NAME', 'KAFKA_SASL_USERNAME', 'Kafka SASL user name'],
  ['--sasl-password-file F', 'KAFKA_SASL_PASSWORD_FILE', 'file holding the Kafka SASL password (trimmed)'],
  ['', 'KAFKA_SASL_PASSWORD', 'the Kafka SASL password itself (no flag: it would show in ps)'],
  ['--kafka-tls', 'KAFKA_TLS', 'connect to the brokers over TLS (system CAs)'],
  ['--kafka-ca-file F', 'KAFKA_TLS_CA_FILE', 'TLS to the brokers, trusting this PEM CA certificate'],
  [
    '--ingest URL',
    'AGENT_INGEST_URL',
    'send to the ingest gateway at URL (http or https) instead of Kafka; needs --key-file or --key',
  ],
  ['--key-file PATH', 'AGENT_KEY_FILE', 'file holding the ingest key (trimmed); keeps the key out of ps'],
  ['--key KEY', 'AGENT_KEY', 'the ingest key itself (shows in ps: prefer --key-file or the env)'],
  [
    '--tenant NAME',
    'AGENT_TENANT',
    'tenant written in the envelope (default local; with a NATS credential: its tenant)',
  ],
  ['--host-id ID', 'AGENT_HOST_ID', 'host identity (default: machine-id, else hostname)'],
  [
    '--rootfs DIR',
    'ROOTFS',
    "where the host's / is mounted, for filesystem sizes (default: the agent's own /)",
  ],
  [
    '--nats URL',
    'NATS_URL',
    'listen for live control (intervals, families) on NATS; needs a tenant credential (default: off)',
  ],
  [
    '--nats-credentials F',
    'NATS_CREDENTIALS_FILE',
    "the tenant's NATS credential, JSON from npm run nats-credential (or NATS_USER + NATS_PASSWORD_FILE)",
  ],
  [
    '--gateway-control M',
    'AGENT_GATEWAY_CONTROL',
    'on (default) or off: with --ingest and no NATS credential, take control requests through the gateway',
  ],
  ['--groups LIST', 'AGENT_GROUPS', 'comma-separated groups this host answers control requests for'],
  [
    '--spool-dir DIR',
    'AGENT_SPOOL_DIR',
    'keep records not yet acknowledged on disk here (default: memory only, lost on exit)',
  ],
  [
    '--spool-max-bytes N',
    'AGENT_SPOOL_MAX_BYTES',
    'cap on the spool; past it the oldest records are dropped (default 268435456 = 256 MiB)',
  ],
  ['--spool-fsync MODE', 'AGENT_SPOOL_FSYNC', 'always, interval (default) or never; see agent/README.md'],
  [
    '--spool-fsync-ms MS',
    'AGENT_SPOOL_FSYNC_INTERVAL_MS',
    'fsync period for --spool-fsync interval (default 1000)',
  ],
  [
    '--batch-ms MS',
    'AGENT_BATCH_MS',
    'how long samples wait to share one Kafka message or gateway request, 0 to 10000 (default 1000)',
  ],
  [
    '--vmstat-fields RE',
    'AGENT_VMSTAT_FIELDS',
    `/proc/vmstat fields to send (default node_exporter's ${DEFAULT_VMSTAT_FIELDS.source})`,
  ],
  [
    '--metrics-listen ADDR',
    'AGENT_METRICS_LISTEN',
    `serve the agent's own metrics on http://ADDR/metrics, or off (default ${DEFAULT_METRICS_LISTEN})`,
  ],
  ['--help', '', 'print this help'],
] as const

export function helpText(): string {
  const rows = FLAGS.map(([flag, env, text]) => `  ${flag.padEnd(22)} ${env.padEnd(29)} ${text}`)
  return `procstream agent: samples /proc and sends Avro to Kafka or the ingest gateway\n\nUsage: npm run agent -- [flags]\n\n  ${'flag'.padEnd(22)} ${'env'.padEnd(29)} meaning\n${rows.join('\n')}\n`
}

export function readAgentConfig(argv: string[], env: Env): Readonly<AgentConfig> | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      once: { type: 'boolean' },
      format: { type: 'string' },
      procfs: { type: 'string' },
      sysfs: { type: 'string' },
      'udev-data': { type: 'string' },
      'collector-option': { type: 'string', multiple: true },
      interval: { type: 'string' },
      brokers: { type: 'string' },
      topic: { type: 'string' },
      'sasl-mechanism': { type: 'string' },
      'sasl-username': { type: 'string' },
      'sasl-password-file': { type: 'string' },
      'kafka-tls': { type: 'boolean' },
      'kafka-ca-file': { type: 'string' },
      ingest: { type: 'string' },
      key: { type: 'string' },
      'key-file': { type: 'string' },
      tenant: { type: 'string' },
      'host-id': { type: 'string' },
      rootfs: { type: 'string' },
      nats: { type: 'string' },
      'nats-credentials': { type: 'string' },
      groups: { type: 'string' },
      'gateway-control': { type: 'string' },
      'spool-dir': { type: 'string' },
      'spool-max-bytes': { type: 'string' },
      'spool-fsync': { type: 'string' },
      'spool-fsync-ms': { type: 'string' },
      'batch-ms': { type: 'string' },
      'family-intervals': { type: 'string' },
      'vmstat-fields': { type: 'string' },
      'metrics-listen': { type: 'string' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) return 'help'
  // Flags win over the environment: fold them into one view and validate once.
  const merged: Record<string, string | undefined> = {
    ...env,
    ...(values.format !== undefined && { AGENT_FORMAT: values.format }),
    ...(values.procfs !== undefined && { PROCFS: values.procfs }),
    ...(values.sysfs !== undefined && { SYSFS: values.sysfs }),
    ...(values['udev-data'] !== undefined && { UDEV_DATA: values['udev-data'] }),
    ...(values['collector-option'] !== undefined && {
      AGENT_COLLECTOR_OPTIONS: values['collector-option'].join('\n'),
    }),
    ...(values.interval !== undefined && { AGENT_INTERVAL_MS: values.interval }),
    ...(values.brokers !== undefined && { KAFKA_BROKERS: values.brokers }),
    ...(values.topic !== undefined && { KAFKA_TOPIC: values.topic }),
    ...(values['sasl-mechanism'] !== undefined && { KAFKA_SASL_MECHANISM: values['sasl-mechanism'] }),
    ...(values['sasl-username'] !== undefined && { KAFKA_SASL_USERNAME: values['sasl-username'] }),
    ...(values['sasl-password-file'] !== undefined && {
      KAFKA_SASL_PASSWORD_FILE: values['sasl-password-file'],
    }),
    ...(values['kafka-tls'] !== undefined && { KAFKA_TLS: String(values['kafka-tls']) }),
    ...(values['kafka-ca-file'] !== undefined && { KAFKA_TLS_CA_FILE: values['kafka-ca-file'] }),
    ...(values.ingest !== undefined && { AGENT_INGEST_URL: values.ingest }),
    ...(values.key !== undefined && { AGENT_KEY: values.key }),
    ...(values['key-file'] !== undefined && { AGENT_KEY_FILE: values['key-file'] }),
    ...(values.tenant !== undefined && { AGENT_TENANT: values.tenant }),
    ...(values['host-id'] !== undefined && { AGENT_HOST_ID: values['host-id'] }),
    ...(values.rootfs !== undefined && { ROOTFS: values.rootfs }),
    ...(values.nats !== undefined && { NATS_URL: values.nats }),
    ...(values['nats-credentials'] !== undefined && { NATS_CREDENTIALS_FILE: values['nats-credentials'] }),
    ...(values.groups !== undefined && { AGENT_GROUPS: values.groups }),
    ...(values['gateway-control'] !== undefined && { AGENT_GATEWAY_CONTROL: values['gateway-control'] }),
    ...(values['spool-dir'] !== undefined && { AGENT_SPOOL_DIR: values['spool-dir'] }),
    ...(values['spool-max-bytes'] !== undefined && { AGENT_SPOOL_MAX_BYTES: values['spool-max-bytes'] }),
    ...(values['spool-fsync'] !== undefined && { AGENT_SPOOL_FSYNC: values['spool-fsync'] }),
    ...(values['spool-fsync-ms'] !== undefined && {
      AGENT_SPOOL_FSYNC_INTERVAL_MS: values['spool-fsync-ms'],
    }),
    ...(values['batch-ms'] !== undefined && { AGENT_BATCH_MS: values['batch-ms'] }),
    ...(values['family-intervals'] !== undefined && { AGENT_FAMILY_INTERVALS: values['family-intervals'] }),
    ...(values['vmstat-fields'] !== undefined && { AGENT_VMSTAT_FIELDS: values['vmstat-fields'] }),
    ...(values['metrics-listen'] !== undefined && { AGENT_METRICS_LISTEN: values['metrics-listen'] }),
  }
  const r = new ConfigReader(merged)
  const once = values.once ?? false
  const format = r.oneOf<OutputFormat>(
    'AGENT_FORMAT',
    ['kafka', 'prometheus', 'json'],
    once ? 'prometheus' : 'kafka',
  )
  const brokers = r.hostPorts('KAFKA_BROKERS')
  const kafkaSecurity = readKafkaSecurity(r)
  const ingest = readIngest(r, brokers !== undefined)
  if (ingest && (kafkaSecurity.sasl || kafkaSecurity.ssl))
    r.problem(
      'Kafka SASL/TLS settings (KAFKA_SASL_*, KAFKA_TLS*) are for --brokers; with --ingest the key authenticates',
    )
  const nats = readNatsClient(r, 'tenant')
  const tenantFlag = r.string('AGENT_TENANT')
  // The control subjects follow the credential; an envelope naming another tenant would say one
  // thing while the server enforces another.
  if (nats?.tenant !== undefined && tenantFlag !== undefined && tenantFlag !== nats.tenant)
    r.problem(
      `--tenant (AGENT_TENANT) is ${JSON.stringify(tenantFlag)} but the NATS credential is tenant ${JSON.stringify(nats.tenant)}'s: give the credential of the same tenant, or leave --tenant out`,
    )
  return r.done({
    once,
    format,
    procfs: r.string('PROCFS', '/proc'),
    sysfs: r.string('SYSFS', '/sys'),
    udevData: r.string('UDEV_DATA', '/run/udev/data'),
    collectorOptions: readCollectorOptions(r, 'AGENT_COLLECTOR_OPTIONS'),
    intervalMs: r.int('AGENT_INTERVAL_MS', 1000, { min: 10, max: 10_000 }),
    brokers: brokers ?? ['127.0.0.1:9092'],
    kafkaSecurity,
    topic: r.string('KAFKA_TOPIC', DEFAULT_TOPIC),
    ingest,
    tenant: nats?.tenant ?? tenantFlag ?? 'local',
    hostId: r.string('AGENT_HOST_ID'),
    rootfs: r.string('ROOTFS', ''),
    nats: nats?.tenant === undefined ? undefined : { ...nats, tenant: nats.tenant },
    gatewayControl: r.oneOf('AGENT_GATEWAY_CONTROL', ['on', 'off'], 'on') === 'on',
    groups: (r.string('AGENT_GROUPS') ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g !== ''),
    spoolDir: r.string('AGENT_SPOOL_DIR'),
    spoolMaxBytes: r.int('AGENT_SPOOL_MAX_BYTES', 256 * 1024 * 1024, { min: 1024 * 1024 }),
    spoolFsync: r.oneOf<FsyncPolicy>('AGENT_SPOOL_FSYNC', ['always', 'interval', 'never'], 'interval'),
    spoolFsyncIntervalMs: r.int('AGENT_SPOOL_FSYNC_INTERVAL_MS', 1000, { min: 10, max: 60_000 }),
    batchMs: r.int('AGENT_BATCH_MS', 1000, { min: 0, max: 10_000 }),
    familyIntervals: readFamilyIntervals(r, 'AGENT_FAMILY_INTERVALS'),
    vmstatFields: r.regex('AGENT_VMSTAT_FIELDS', DEFAULT_VMSTAT_FIELDS),
    metricsListen: r.listenAddress('AGENT_METRICS_LISTEN', DEFAULT_METRICS_LISTEN),
  })
}

/**
 * The gateway and its key. Problems name the flags and variables, never the key: ConfigError's
 * message is printed to stderr, and from there it reaches logs.
 */
function readIngest(r: ConfigReader, brokersGiven: boolean): { url: string; key: string } | undefined {
  const url = r.url('AGENT_INGEST_URL', ['http:', 'https:'])
  const inline = r.string('AGENT_KEY')
  const file = r.string('AGENT_KEY_FILE')
  if (url === undefined) {
    if (inline !== undefined || file !== undefined)
      r.problem(
        '--key / --key-file (AGENT_KEY / AGENT_KEY_FILE) are for --ingest (AGENT_INGEST_URL), which is not set',
      )
    return undefined
  }
  if (brokersGiven)
    r.problem('--ingest (AGENT_INGEST_URL) and --brokers (KAFKA_BROKERS) are both set: choose one')
  if (hasCredentials(url))
    r.problem('AGENT_INGEST_URL must not carry credentials: give the key with --key-file or --key')
  if (inline !== undefined && file !== undefined) {
    r.problem('--key (AGENT_KEY) and --key-file (AGENT_KEY_FILE) are both set: choose one')
    return undefined
  }
  const key = inline ?? (file === undefined ? undefined : readKeyFile(r, file))
  if (key === undefined) {
    if (file === undefined)
      r.problem(
        '--ingest (AGENT_INGEST_URL) needs a key: give --key-file PATH (AGENT_KEY_FILE) or --key KEY (AGENT_KEY)',
      )
    return undefined
  }
  if (!isUsableKey(key))
    r.problem(
      `the ingest key (${inline === undefined ? '--key-file / AGENT_KEY_FILE' : '--key / AGENT_KEY'}) must be printable ASCII without spaces`,
    )
  return { url, key }
}

function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url)
    return u.username !== '' || u.password !== ''
  } catch {
    // r.url has reported it already.
    return false
  }
}

function readKeyFile(r: ConfigReader, path: string): string | undefined {
  let key: string
  try {
    key = readFileSync(path, 'utf8').trim()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    r.problem(`AGENT_KEY_FILE=${JSON.stringify(path)} cannot be read (${code})`)
    return undefined
  }
  if (key === '') {
    r.problem(`AGENT_KEY_FILE=${JSON.stringify(path)} is empty`)
    return undefined
  }
  return key
}

/**
 * `netclass.ignored-devices=^veth` entries, one per line → options; a name no collector declares and
 * a filter that is not a valid regular expression are refused by name.
 */
function readCollectorOptions(r: ConfigReader, name: string): Record<string, string> {
  const declared = collectorOptions()
  const out: Record<string, string> = {}
  for (const line of (r.string(name) ?? '').split('\n')) {
    if (line.trim() === '') continue
    const eq = line.indexOf('=')
    const key = (eq < 0 ? line : line.slice(0, eq)).trim()
    const value = eq < 0 ? '' : line.slice(eq + 1)
    if (eq < 0 || !declared.has(key)) {
      r.problem(
        `${name} entry ${JSON.stringify(line)}: not <collector>.<option>=<value> with a known option; known: ${[...declared.keys()].join(', ')}`,
      )
      continue
    }
    const kind = declared.get(key)?.kind ?? 'regex'
    if (kind === 'flag' && value !== 'true' && value !== 'false') {
      r.problem(`${name} entry ${JSON.stringify(line)}: must be true or false`)
      continue
    }
    if (kind === 'regex') {
      try {
        new RegExp(value)
      } catch (err) {
        r.problem(
          `${name} entry ${JSON.stringify(line)}: not a regular expression (${(err as Error).message})`,
        )
        continue
      }
    }
    out[key] = value
  }
  return out
}

/** `cpu=100,filesystem=60000,vmstat=off,interrupts=on` → a schedule change; every bad entry is reported by name. */
function readFamilyIntervals(r: ConfigReader, name: string): ScheduleChange {
  const change: ScheduleChange = {}
  for (const entry of (r.string(name) ?? '').split(',')) {
    const item = entry.trim()
    if (item === '') continue
    const [family = '', value = ''] = item.split('=', 2).map((s) => s.trim())
    if (!isScheduled(family)) {
      r.problem(
        `${name} entry ${JSON.stringify(item)}: unknown family or collector; known: ${SCHEDULED.join(', ')}`,
      )
    } else if (value === 'off') {
      change[family] = { enabled: false }
    } else if (value === 'on') {
      change[family] = { enabled: true }
    } else if (/^\d+$/.test(value) && Number(value) >= MIN_INTERVAL_MS && Number(value) <= MAX_INTERVAL_MS) {
      change[family] = { enabled: true, intervalMs: Number(value) }
    } else {
      r.problem(
        `${name} entry ${JSON.stringify(item)}: the interval must be ${String(MIN_INTERVAL_MS)} to ${String(MAX_INTERVAL_MS)} ms, or off`,
      )
    }
  }
  return change
}
