import { excerpt, parseInteger, tokenize } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/** The backend labels node_exporter knows, in its order (the default of `backend-labels`). */
const BACKEND_LABELS = [
  'local_address',
  'local_port',
  'remote_address',
  'remote_port',
  'proto',
  'local_mark',
] as const
type BackendLabel = (typeof BACKEND_LABELS)[number]

/** Totals of /proc/net/ip_vs_stats, in the order of its third line. */
const STATS = [
  'node_ipvs_connections_total',
  'node_ipvs_incoming_packets_total',
  'node_ipvs_outgoing_packets_total',
  'node_ipvs_incoming_bytes_total',
  'node_ipvs_outgoing_bytes_total',
] as const

const HEX = /^[0-9a-fA-F]+$/
const UINT64_MAX = 2n ** 64n - 1n
/** `C0A80016:0CEA`: an IPv4 address and a port, in hex. */
const IPV4_PORT = /^([0-9a-fA-F]{8}):([0-9a-fA-F]{4})$/
/** `[2620:0000:…:0001]:0050`: the kernel prints every IPv6 group in full (%pI6). */
const IPV6_PORT = /^\[((?:[0-9a-fA-F]{4}:){7}[0-9a-fA-F]{4})\]:([0-9a-fA-F]{4})$/
const DIGITS = /^\d+$/

/**
 * `local_address,proto` → the labels in node_exporter's order; unknown names are refused as
 * node_exporter refuses them at start-up.
 */
export function parseBackendLabels(text: string): BackendLabel[] {
  const wanted = new Set(text.split(',').filter((label) => label !== ''))
  const unknown = [...wanted].filter((label) => !(BACKEND_LABELS as readonly string[]).includes(label)).sort()
  if (unknown.length > 0)
    throw new Error(`unknown IPVS backend labels: ${JSON.stringify(unknown.join(', '))}`)
  return BACKEND_LABELS.filter((label) => wanted.has(label))
}

/** A 64-bit unsigned hex number (strconv.ParseUint(text, 16, 64)), or undefined. */
function parseHex(text: string): number | undefined {
  if (!HEX.test(text)) return undefined
  const value = BigInt(`0x${text}`)
  return value > UINT64_MAX ? undefined : Number(value)
}

/** The five totals of ip_vs_stats' third line, or what is wrong with the file. */
function parseStats(text: string): number[] | string {
  const lines = text.split('\n')
  if (lines.length < 4) return 'too short'
  const fields = tokenize(lines[2] ?? '')
  if (fields.length !== STATS.length)
    return `expected ${String(STATS.length)} hex numbers: ${excerpt(lines[2] ?? '')}`
  const values = fields.map(parseHex)
  if (values.some((v) => v === undefined)) return `not hex numbers: ${excerpt(lines[2] ?? '')}`
  return values as number[]
}

/**
 * IPv6 in Go's net.IP.String form: an IPv4-mapped address dotted, otherwise lower-case groups without
 * leading zeros and the first longest run of two or more zero groups as `::`.
 */
function formatIPv6(groups: readonly number[]): string {
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6)
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.')
  }
  let runStart = -1
  let runLength = 0
  for (let i = 0; i < groups.length;) {
    let j = i
    while (j < groups.length && groups[j] === 0) j++
    if (j - i > runLength) {
      runStart = i
      runLength = j - i
    }
    i = j === i ? i + 1 : j
  }
  const hex = groups.map((g) => g.toString(16))
  if (runLength < 2) return hex.join(':')
  return `${hex.slice(0, runStart).join(':')}::${hex.slice(runStart + runLength).join(':')}`
}

/** `C0A80016:0CEA` or `[…]:0050` → address and port as node_exporter labels them, or undefined. */
function parseAddressPort(text: string): { address: string; port: number } | undefined {
  const v4 = IPV4_PORT.exec(text)
  if (v4 !== null) {
    const ip = Number.parseInt(v4[1] ?? '', 16)
    return {
      address: [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].join('.'),
      port: Number.parseInt(v4[2] ?? '', 16),
    }
  }
  const v6 = IPV6_PORT.exec(text)
  if (v6 !== null) {
    const groups = (v6[1] ?? '').split(':').map((g) => Number.parseInt(g, 16))
    return { address: formatIPv6(groups), port: Number.parseInt(v6[2] ?? '', 16) }
  }
  return undefined
}

interface Service {
  proto: string
  local_address: string
  local_port: string
  local_mark: string
}

interface RealServer {
  labels: Record<BackendLabel, string>
  weight: number
  active: number
  inactive: number
}

/**
 * /proc/net/ip_vs: each virtual service line (`TCP  C0A80016:0CEA wlc`, `FWM  10001000 wlc`) and
 * the real servers below it (`  -> C0A85216:0CEA  Tunnel  100  248  2`). The real servers of a
 * service that does not parse are skipped with it.
 */
function parseRealServers(text: string, path: string, problem: (message: string) => void): RealServer[] {
  const servers: RealServer[] = []
  // undefined before the first virtual service; 'skipped' after one that did not parse.
  let service: Service | 'skipped' | undefined
  for (const line of text.split('\n')) {
    const f = tokenize(line)
    const [first = '', second = ''] = f
    if (f.length === 0 || first === 'IP' || first === 'Prot' || second === 'RemoteAddress:Port') continue
    if (first === '->') {
      if (service === 'skipped') continue
      if (service === undefined) {
        problem(`${path}: real server before any virtual service: ${excerpt(line)}`)
        continue
      }
      const remote = parseAddressPort(second)
      const [weight, active, inactive] = f
        .slice(3, 6)
        .map((t) => (DIGITS.test(t) ? parseInteger(t) : undefined))
      if (remote === undefined || weight === undefined || active === undefined || inactive === undefined) {
        problem(`${path}: real server not parsed: ${excerpt(line)}`)
        continue
      }
      const labels = { ...service, remote_address: remote.address, remote_port: String(remote.port) }
      servers.push({ labels, weight, active, inactive })
      continue
    }
    const local = first === 'FWM' ? undefined : parseAddressPort(second)
    if (first === 'FWM' && f.length >= 2) {
      service = { proto: first, local_address: '', local_port: '0', local_mark: second }
    } else if ((first === 'TCP' || first === 'UDP' || first === 'SCTP') && local !== undefined) {
      service = { proto: first, local_address: local.address, local_port: String(local.port), local_mark: '' }
    } else {
      problem(`${path}: virtual service not parsed, its real servers skipped: ${excerpt(line)}`)
      service = 'skipped'
    }
  }
  return servers
}

/**
 * /proc/net/ip_vs_stats and /proc/net/ip_vs, as node_exporter's ipvs collector: the totals since the
 * module loaded, and per real server its weight and active and inactive connections, summed over the
 * servers that share the values of the labels `backend-labels` keeps.
 */
export const ipvs: NodeCollector = {
  name: 'ipvs',
  description:
    'IPVS load balancer totals and real servers: weights, connections (/proc/net/ip_vs, ip_vs_stats)',
  defaultEnabled: true,
  options: {
    'backend-labels': {
      default: BACKEND_LABELS.join(','),
      help: 'Comma separated list for IPVS backend stats labels.',
    },
  },
  open: (ctx) => {
    const labelNames = parseBackendLabels(ctx.options['backend-labels'] ?? BACKEND_LABELS.join(','))
    const statsPath = join(ctx.paths.procfs, 'net/ip_vs_stats')
    const serversPath = join(ctx.paths.procfs, 'net/ip_vs')
    return {
      collect: (emit) => {
        let statsText: string
        try {
          statsText = ctx.fs.readText(statsPath)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        const stats = parseStats(statsText)
        if (typeof stats === 'string') ctx.problem(`${statsPath}: ${stats}`)
        else for (const [i, name] of STATS.entries()) emit(name, {}, stats[i] ?? 0)

        let serversText: string
        try {
          serversText = ctx.fs.readText(serversPath)
        } catch (err) {
          // Both files come and go with the ip_vs module.
          if (isAbsent(err)) return
          throw err
        }
        const sums = new Map<string, Omit<RealServer, 'labels'> & { labels: Record<string, string> }>()
        const servers = parseRealServers(serversText, serversPath, (message) => {
          ctx.problem(message)
        })
        for (const server of servers) {
          const key = labelNames.map((name) => server.labels[name]).join('\0')
          let sum = sums.get(key)
          if (sum === undefined) {
            const labels: Record<string, string> = {}
            for (const name of labelNames) labels[name] = server.labels[name]
            sum = { labels, weight: 0, active: 0, inactive: 0 }
            sums.set(key, sum)
          }
          sum.weight += server.weight
          sum.active += server.active
          sum.inactive += server.inactive
        }
        for (const { labels, active, inactive, weight } of sums.values()) {
          emit('node_ipvs_backend_connections_active', { ...labels }, active)
          emit('node_ipvs_backend_connections_inactive', { ...labels }, inactive)
          emit('node_ipvs_backend_weight', { ...labels }, weight)
        }
      },
    }
  },
}
