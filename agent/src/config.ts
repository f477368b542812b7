import { parseArgs } from 'node:util'
import { ConfigReader, type Env } from '../../platform/config.ts'
import { DEFAULT_TOPIC } from '../../stream-processors/src/config.ts'
import type { FsyncPolicy } from './sink/spool.ts'

export type OutputFormat = 'kafka' | 'prometheus' | 'json'

export interface AgentConfig {
  once: boolean
  format: OutputFormat
  procfs: string
  intervalMs: number
  brokers: string[]
  topic: string
  tenant: string
  hostId: string | undefined
  rootfs: string
  natsUrl: string | undefined
  groups: string[]
  /** Where unsent records go while Kafka is away; undefined keeps them in memory only. */
  spoolDir: string | undefined
  spoolMaxBytes: number
  spoolFsync: FsyncPolicy
  spoolFsyncIntervalMs: number
}

/** Every flag with its environment equivalent; `--help` prints this table. */
const FLAGS = [
  ['--once', '', 'take one sample, print it (with --format) and exit'],
  ['--format FMT', 'AGENT_FORMAT', 'kafka (default: send), prometheus or json (print to stdout)'],
  [
    '--procfs DIR',
    'PROCFS',
    'where /proc is mounted (default /proc), e.g. a host /proc in a container or a fixture tree',
  ],
  ['--interval MS', 'AGENT_INTERVAL_MS', 'sampling interval in milliseconds, 10 to 10000 (default 1000)'],
  ['--brokers LIST', 'KAFKA_BROKERS', 'comma-separated host:port of Kafka brokers (default 127.0.0.1:9092)'],
  ['--topic NAME', 'KAFKA_TOPIC', `Kafka topic (default ${DEFAULT_TOPIC})`],
  ['--tenant NAME', 'AGENT_TENANT', 'tenant written in the envelope (default local)'],
  ['--host-id ID', 'AGENT_HOST_ID', 'host identity (default: machine-id, else hostname)'],
  [
    '--rootfs DIR',
    'ROOTFS',
    "where the host's / is mounted, for filesystem sizes (default: the agent's own /)",
  ],
  [
    '--nats URL',
    'NATS_URL',
    'listen for live control (intervals, families) on NATS; see agent/README.md (default: off)',
  ],
  ['--groups LIST', 'AGENT_GROUPS', 'comma-separated groups this host answers control requests for'],
  [
    '--spool-dir DIR',
    'AGENT_SPOOL_DIR',
    'keep records Kafka has not acknowledged on disk here (default: memory only, lost on exit)',
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
  ['--help', '', 'print this help'],
] as const

export function helpText(): string {
  const rows = FLAGS.map(([flag, env, text]) => `  ${flag.padEnd(20)} ${env.padEnd(29)} ${text}`)
  return `procstream agent: samples /proc and sends Avro to Kafka\n\nUsage: npm run agent -- [flags]\n\n  ${'flag'.padEnd(20)} ${'env'.padEnd(29)} meaning\n${rows.join('\n')}\n`
}

export function readAgentConfig(argv: string[], env: Env): Readonly<AgentConfig> | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      once: { type: 'boolean' },
      format: { type: 'string' },
      procfs: { type: 'string' },
      interval: { type: 'string' },
      brokers: { type: 'string' },
      topic: { type: 'string' },
      tenant: { type: 'string' },
      'host-id': { type: 'string' },
      rootfs: { type: 'string' },
      nats: { type: 'string' },
      groups: { type: 'string' },
      'spool-dir': { type: 'string' },
      'spool-max-bytes': { type: 'string' },
      'spool-fsync': { type: 'string' },
      'spool-fsync-ms': { type: 'string' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) return 'help'
  // Flags win over the environment: fold them into one view and validate once.
  const merged: Record<string, string | undefined> = {
    ...env,
    ...(values.format !== undefined && { AGENT_FORMAT: values.format }),
    ...(values.procfs !== undefined && { PROCFS: values.procfs }),
    ...(values.interval !== undefined && { AGENT_INTERVAL_MS: values.interval }),
    ...(values.brokers !== undefined && { KAFKA_BROKERS: values.brokers }),
    ...(values.topic !== undefined && { KAFKA_TOPIC: values.topic }),
    ...(values.tenant !== undefined && { AGENT_TENANT: values.tenant }),
    ...(values['host-id'] !== undefined && { AGENT_HOST_ID: values['host-id'] }),
    ...(values.rootfs !== undefined && { ROOTFS: values.rootfs }),
    ...(values.nats !== undefined && { NATS_URL: values.nats }),
    ...(values.groups !== undefined && { AGENT_GROUPS: values.groups }),
    ...(values['spool-dir'] !== undefined && { AGENT_SPOOL_DIR: values['spool-dir'] }),
    ...(values['spool-max-bytes'] !== undefined && { AGENT_SPOOL_MAX_BYTES: values['spool-max-bytes'] }),
    ...(values['spool-fsync'] !== undefined && { AGENT_SPOOL_FSYNC: values['spool-fsync'] }),
    ...(values['spool-fsync-ms'] !== undefined && {
      AGENT_SPOOL_FSYNC_INTERVAL_MS: values['spool-fsync-ms'],
    }),
  }
  const r = new ConfigReader(merged)
  const once = values.once ?? false
  const format = r.oneOf<OutputFormat>(
    'AGENT_FORMAT',
    ['kafka', 'prometheus', 'json'],
    once ? 'prometheus' : 'kafka',
  )
  return r.done({
    once,
    format,
    procfs: r.string('PROCFS', '/proc'),
    intervalMs: r.int('AGENT_INTERVAL_MS', 1000, { min: 10, max: 10_000 }),
    brokers: r.hostPorts('KAFKA_BROKERS') ?? ['127.0.0.1:9092'],
    topic: r.string('KAFKA_TOPIC', DEFAULT_TOPIC),
    tenant: r.string('AGENT_TENANT', 'local'),
    hostId: r.string('AGENT_HOST_ID'),
    rootfs: r.string('ROOTFS', ''),
    natsUrl: r.url('NATS_URL', ['nats:', 'tls:']),
    groups: (r.string('AGENT_GROUPS') ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g !== ''),
    spoolDir: r.string('AGENT_SPOOL_DIR'),
    spoolMaxBytes: r.int('AGENT_SPOOL_MAX_BYTES', 256 * 1024 * 1024, { min: 1024 * 1024 }),
    spoolFsync: r.oneOf<FsyncPolicy>('AGENT_SPOOL_FSYNC', ['always', 'interval', 'never'], 'interval'),
    spoolFsyncIntervalMs: r.int('AGENT_SPOOL_FSYNC_INTERVAL_MS', 1000, { min: 10, max: 60_000 }),
  })
}
