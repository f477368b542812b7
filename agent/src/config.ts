import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { readKafkaSecurity, type KafkaSecurity } from '#platform/kafka-security.ts'
import { ConfigReader, settingMeaning, type Env, type Setting } from '#platform/config.ts'
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

/** A setting the agent also takes as a flag: `--<flag> <arg>`; no `arg`, a boolean flag. */
type AgentSetting = Setting & { flag?: string; arg?: string; repeatable?: boolean }
/** A flag with no environment equivalent. */
interface FlagOnly {
  flag: string
  meaning: string
}

/**
 * Every agent setting, its flag and its `--help` line, in the order `--help` prints them; the reader
 * and the flag parser are driven by this table (platform/config.ts).
 */
export const AGENT_SETTINGS = {
  once: { flag: 'once', meaning: 'take one sample, print it (with --format) and exit' },
  format: {
    env: 'AGENT_FORMAT',
    flag: 'format',
    arg: 'FMT',
    type: 'oneOf',
    values: ['kafka', 'prometheus', 'json'],
    default: 'kafka',
    meaning: 'kafka (default: send, to Kafka or --ingest), prometheus or json (print to stdout)',
  },
  procfs: {
    env: 'PROCFS',
    flag: 'procfs',
    arg: 'DIR',
    type: 'string',
    default: '/proc',
    meaning: 'where /proc is mounted (default {default}), e.g. a host /proc in a container or a fixture tree',
  },
  sysfs: {
    env: 'SYSFS',
    flag: 'sysfs',
    arg: 'DIR',
    type: 'string',
    default: '/sys',
    meaning: 'where /sys is mounted (default {default}), e.g. a host /sys in a container or a fixture tree',
  },
  udevData: {
    env: 'UDEV_DATA',
    flag: 'udev-data',
    arg: 'DIR',
    type: 'string',
    default: '/run/udev/data',
    meaning: "udev's database, for disk model and serial (default {default})",
  },
  intervalMs: {
    env: 'AGENT_INTERVAL_MS',
    flag: 'interval',
    arg: 'MS',
    type: 'int',
    default: 1000,
    min: 10,
    max: 10_000,
    meaning: 'sampling interval in milliseconds, {min} to {max} (default {default})',
  },
  familyIntervals: {
    env: 'AGENT_FAMILY_INTERVALS',
    flag: 'family-intervals',
    arg: 'L',
    type: 'custom',
    meaning:
      'per-family or per-collector interval in ms, on or off, e.g. cpu=100,filesystem=60000,vmstat=off,wifi=on (agent/README.md lists them and their defaults)',
  },
  collectorOptions: {
    env: 'AGENT_COLLECTOR_OPTIONS',
    flag: 'collector-option',
    arg: 'K=V',
    repeatable: true,
    type: 'custom',
    meaning:
      "a collector's filter or setting, e.g. netclass.ignored-devices=^veth; repeatable (env: one per line); agent/README.md lists them with node_exporter's defaults",
  },
  brokers: {
    env: 'KAFKA_BROKERS',
    flag: 'brokers',
    arg: 'LIST',
    type: 'custom',
    default: '127.0.0.1:9092',
    meaning: 'comma-separated host:port of Kafka brokers (default {default}); not with --ingest',
  },
  topic: {
    env: 'KAFKA_TOPIC',
    flag: 'topic',
    arg: 'NAME',
    type: 'string',
    default: DEFAULT_TOPIC,
    meaning: 'Kafka topic (default {default})',
  },
  // Read by platform/kafka-security.ts; declared here for their flags and help lines.
  saslMechanism: {
    env: 'KAFKA_SASL_MECHANISM',
    flag: 'sasl-mechanism',
    arg: 'M',
    type: 'custom',
    meaning:
      "Kafka SASL: scram-sha-512, scram-sha-256 or plain (plain only with TLS); the tenant's own credentials",
  },
  saslUsername: {
    env: 'KAFKA_SASL_USERNAME',
    flag: 'sasl-username',
    arg: 'NAME',
    type: 'custom',
    meaning: 'Kafka SASL user name',
  },
  saslPasswordFile: {
    env: 'KAFKA_SASL_PASSWORD_FILE',
    flag: 'sasl-password-file',
    arg: 'F',
    type: 'custom',
    meaning: 'file holding the Kafka SASL password (trimmed)',
  },
  saslPassword: {
    env: 'KAFKA_SASL_PASSWORD',
    type: 'custom',
    meaning: 'the Kafka SASL password itself (no flag: it would show in ps)',
  },
  kafkaTls: {
    env: 'KAFKA_TLS',
    flag: 'kafka-tls',
    type: 'custom',
    default: 'false',
    meaning: 'connect to the brokers over TLS (system CAs)',
  },
  kafkaCaFile: {
    env: 'KAFKA_TLS_CA_FILE',
    flag: 'kafka-ca-file',
    arg: 'F',
    type: 'custom',
    meaning: 'TLS to the brokers, trusting this PEM CA certificate',
  },
  ingestUrl: {
    env: 'AGENT_INGEST_URL',
    flag: 'ingest',
    arg: 'URL',
    type: 'custom',
    meaning: 'send to the ingest gateway at URL (http or https) instead of Kafka; needs --key-file or --key',
  },
  keyFile: {
    env: 'AGENT_KEY_FILE',
    flag: 'key-file',
    arg: 'PATH',
    type: 'string',
    meaning: 'file holding the ingest key (trimmed); keeps the key out of ps',
  },
  key: {
    env: 'AGENT_KEY',
    flag: 'key',
    arg: 'KEY',
    type: 'string',
    meaning: 'the ingest key itself (shows in ps: prefer --key-file or the env)',
  },
  tenant: {
    env: 'AGENT_TENANT',
    flag: 'tenant',
    arg: 'NAME',
    // No default in the declaration: an unset tenant yields to the NATS credential's.
    type: 'string',
    meaning: 'tenant written in the envelope (default local; with a NATS credential: its tenant)',
  },
  hostId: {
    env: 'AGENT_HOST_ID',
    flag: 'host-id',
    arg: 'ID',
    type: 'string',
    meaning: 'host identity (default: machine-id, else hostname)',
  },
  rootfs: {
    env: 'ROOTFS',
    flag: 'rootfs',
    arg: 'DIR',
    type: 'string',
    default: '',
    meaning: "where the host's / is mounted, for filesystem sizes (default: the agent's own /)",
  },
  // Read by platform/nats-client.ts.
  natsUrl: {
    env: 'NATS_URL',
    flag: 'nats',
    arg: 'URL',
    type: 'custom',
    meaning:
      'listen for live control (intervals, families) on NATS; needs a tenant credential (default: off)',
  },
  natsCredentials: {
    env: 'NATS_CREDENTIALS_FILE',
    flag: 'nats-credentials',
    arg: 'F',
    type: 'custom',
    meaning:
      "the tenant's NATS credential, JSON from npm run nats-credential (or NATS_USER + NATS_PASSWORD_FILE)",
  },
  gatewayControl: {
    env: 'AGENT_GATEWAY_CONTROL',
    flag: 'gateway-control',
    arg: 'M',
    type: 'oneOf',
    values: ['on', 'off'],
    default: 'on',
    meaning:
      'on (default) or off: with --ingest and no NATS credential, take control requests through the gateway',
  },
  groups: {
    env: 'AGENT_GROUPS',
    flag: 'groups',
    arg: 'LIST',
    type: 'string',
    meaning: 'comma-separated groups this host answers control requests for',
  },
  spoolDir: {
    env: 'AGENT_SPOOL_DIR',
    flag: 'spool-dir',
    arg: 'DIR',
    type: 'string',
    meaning: 'keep records not yet acknowledged on disk here (default: memory only, lost on exit)',
  },
  spoolMaxBytes: {
    env: 'AGENT_SPOOL_MAX_BYTES',
    flag: 'spool-max-bytes',
    arg: 'N',
    type: 'int',
    default: 256 * 1024 * 1024,
    min: 1024 * 1024,
    meaning: 'cap on the spool; past it the oldest records are dropped (default {default} = 256 MiB)',
  },
  spoolFsync: {
    env: 'AGENT_SPOOL_FSYNC',
    flag: 'spool-fsync',
    arg: 'MODE',
    type: 'oneOf',
    values: ['always', 'interval', 'never'],
    default: 'interval',
    meaning: 'always, interval (default) or never; see agent/README.md',
  },
  spoolFsyncIntervalMs: {
    env: 'AGENT_SPOOL_FSYNC_INTERVAL_MS',
    flag: 'spool-fsync-ms',
    arg: 'MS',
    type: 'int',
    default: 1000,
    min: 10,
    max: 60_000,
    meaning: 'fsync period for --spool-fsync interval (default {default})',
  },
  batchMs: {
    env: 'AGENT_BATCH_MS',
    flag: 'batch-ms',
    arg: 'MS',
    type: 'int',
    default: 1000,
    min: 0,
    max: 10_000,
    meaning:
      'how long samples wait to share one Kafka message or gateway request, {min} to {max} (default {default})',
  },
  vmstatFields: {
    env: 'AGENT_VMSTAT_FIELDS',
    flag: 'vmstat-fields',
    arg: 'RE',
    type: 'custom',
    default: DEFAULT_VMSTAT_FIELDS.source,
    meaning: "/proc/vmstat fields to send (default node_exporter's {default})",
  },
  metricsListen: {
    env: 'AGENT_METRICS_LISTEN',
    flag: 'metrics-listen',
    arg: 'ADDR',
    type: 'custom',
    default: '127.0.0.1:9464',
    meaning: "serve the agent's own metrics on http://ADDR/metrics, or off (default {default})",
  },
  help: { flag: 'help', meaning: 'print this help' },
} as const satisfies Record<string, AgentSetting | FlagOnly>

const S = AGENT_SETTINGS
const ENTRIES: readonly (AgentSetting | FlagOnly)[] = Object.values(AGENT_SETTINGS)
const isSetting = (e: AgentSetting | FlagOnly): e is AgentSetting => 'env' in e

export function helpText(): string {
  const rows = ENTRIES.map((e) => {
    const flag =
      e.flag === undefined ? '' : `--${e.flag}${'arg' in e && e.arg !== undefined ? ` ${e.arg}` : ''}`
    const env = isSetting(e) ? e.env : ''
    const text = isSetting(e) ? settingMeaning(e) : e.meaning
    return `  ${flag.padEnd(22)} ${env.padEnd(29)} ${text}`
  })
  return `procstream agent: samples /proc and sends Avro to Kafka or the ingest gateway\n\nUsage: npm run agent -- [flags]\n\n  ${'flag'.padEnd(22)} ${'env'.padEnd(29)} meaning\n${rows.join('\n')}\n`
}

/** A flag without an argument is a boolean; a repeatable one is folded into its variable one per line. */
function parseFlags(argv: string[]): { help: boolean; once: boolean; env: Record<string, string> } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {}
  for (const e of ENTRIES) {
    if (e.flag === undefined) continue
    const takesArg = 'arg' in e && e.arg !== undefined
    options[e.flag] = {
      type: takesArg ? 'string' : 'boolean',
      ...('repeatable' in e && e.repeatable === true && { multiple: true }),
    }
  }
  const { values } = parseArgs({ args: argv, strict: true, options })
  const env: Record<string, string> = {}
  for (const e of ENTRIES) {
    if (!isSetting(e) || e.flag === undefined) continue
    const v = values[e.flag]
    if (v === undefined) continue
    env[e.env] = Array.isArray(v) ? v.join('\n') : String(v)
  }
  return { help: values.help === true, once: values.once === true, env }
}

export function readAgentConfig(argv: string[], env: Env): Readonly<AgentConfig> | 'help' {
  const flags = parseFlags(argv)
  if (flags.help) return 'help'
  // Flags win over the environment: fold them into one view and validate once.
  const merged: Record<string, string | undefined> = { ...env, ...flags.env }
  const r = new ConfigReader(merged)
  const once = flags.once
  const format = r.oneOf<OutputFormat>(S.format, once ? 'prometheus' : 'kafka')
  const brokers = r.hostPorts(S.brokers.env)
  const kafkaSecurity = readKafkaSecurity(r)
  const ingest = readIngest(r, brokers !== undefined)
  if (ingest && (kafkaSecurity.sasl || kafkaSecurity.ssl))
    r.problem(
      'Kafka SASL/TLS settings (KAFKA_SASL_*, KAFKA_TLS*) are for --brokers; with --ingest the key authenticates',
    )
  const nats = readNatsClient(r, 'tenant')
  const tenantFlag = r.string(S.tenant)
  // The control subjects follow the credential; an envelope naming another tenant would say one
  // thing while the server enforces another.
  if (nats?.tenant !== undefined && tenantFlag !== undefined && tenantFlag !== nats.tenant)
    r.problem(
      `--tenant (AGENT_TENANT) is ${JSON.stringify(tenantFlag)} but the NATS credential is tenant ${JSON.stringify(nats.tenant)}'s: give the credential of the same tenant, or leave --tenant out`,
    )
  return r.done({
    once,
    format,
    procfs: r.string(S.procfs),
    sysfs: r.string(S.sysfs),
    udevData: r.string(S.udevData),
    collectorOptions: readCollectorOptions(r, S.collectorOptions.env),
    intervalMs: r.int(S.intervalMs),
    brokers: brokers ?? [S.brokers.default],
    kafkaSecurity,
    topic: r.string(S.topic),
    ingest,
    tenant: nats?.tenant ?? tenantFlag ?? 'local',
    hostId: r.string(S.hostId),
    rootfs: r.string(S.rootfs),
    nats: nats?.tenant === undefined ? undefined : { ...nats, tenant: nats.tenant },
    gatewayControl: r.oneOf(S.gatewayControl) === 'on',
    groups: (r.string(S.groups) ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g !== ''),
    spoolDir: r.string(S.spoolDir),
    spoolMaxBytes: r.int(S.spoolMaxBytes),
    spoolFsync: r.oneOf<FsyncPolicy>(S.spoolFsync),
    spoolFsyncIntervalMs: r.int(S.spoolFsyncIntervalMs),
    batchMs: r.int(S.batchMs),
    familyIntervals: readFamilyIntervals(r, S.familyIntervals.env),
    vmstatFields: r.regex(S.vmstatFields.env, DEFAULT_VMSTAT_FIELDS),
    metricsListen: r.listenAddress(S.metricsListen.env, S.metricsListen.default),
  })
}

/**
 * The gateway and its key. Problems name the flags and variables, never the key: ConfigError's
 * message is printed to stderr, and from there it reaches logs.
 */
function readIngest(r: ConfigReader, brokersGiven: boolean): { url: string; key: string } | undefined {
  const url = r.url(S.ingestUrl.env, ['http:', 'https:'])
  const inline = r.string(S.key)
  const file = r.string(S.keyFile)
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
