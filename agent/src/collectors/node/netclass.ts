import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/**
 * The numeric attributes of /sys/class/net/<iface> node_exporter exports, in the order it sends
 * them, and their metric names' suffixes. `speed` is apart (unit change, invalid-speed filter).
 */
const NUMERIC_ATTRIBUTES: readonly (readonly [file: string, metric: string])[] = [
  ['addr_assign_type', 'address_assign_type'],
  ['carrier', 'carrier'],
  ['carrier_changes', 'carrier_changes_total'],
  ['carrier_up_count', 'carrier_up_changes_total'],
  ['carrier_down_count', 'carrier_down_changes_total'],
  ['dev_id', 'device_id'],
  ['dormant', 'dormant'],
  ['flags', 'flags'],
  ['ifindex', 'iface_id'],
  ['iflink', 'iface_link'],
  ['link_mode', 'iface_link_mode'],
  ['mtu', 'mtu_bytes'],
  ['netdev_group', 'net_dev_group'],
  ['name_assign_type', 'name_assign_type'],
  ['tx_queue_len', 'transmit_queue_length'],
  ['type', 'protocol_type'],
]

const STRING_ATTRIBUTES = ['address', 'broadcast', 'duplex', 'ifalias', 'operstate'] as const
type StringAttribute = (typeof STRING_ATTRIBUTES)[number]

const WANTED = new Set<string>([...NUMERIC_ATTRIBUTES.map(([file]) => file), ...STRING_ATTRIBUTES, 'speed'])

/** Go's net.FlagUp: bit 0 of `flags` is IFF_UP, the administrative state. */
const IFF_UP = 1

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
}

/**
 * Read errors procfs's ParseNetClassAttribute treats as "this device has no such attribute": EINVAL
 * (`speed` of a link that is down), EOPNOTSUPP (`phys_port_id` of a virtual device), permissions.
 */
function attributeUnavailable(err: unknown): boolean {
  const code = errorCode(err)
  return isAbsent(err) || code === 'EACCES' || code === 'EPERM' || code === 'EINVAL' || code === 'EISDIR'
}

const GO_INT =
  /^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?\d)*)$/
const LEGACY_OCTAL = /^0[0-7]+$/
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * strconv.ParseInt(text, 0, 64), which procfs's sysfs parsers use: an optional sign, a 0x, 0o, 0b or
 * bare 0 (octal) prefix and `_` between digits; undefined for anything else or beyond int64. sysfs
 * prints `flags` and `dev_id` in hex, so base 10 alone would lose them.
 */
export function parseGoInt(text: string): number | undefined {
  if (!GO_INT.test(text)) return undefined
  let digits = text.replace(/_/g, '').replace(/^[+-]/, '')
  if (LEGACY_OCTAL.test(digits)) digits = `0o${digits.slice(1)}`
  const value = text.startsWith('-') ? -BigInt(digits) : BigInt(digits)
  if (value < INT64_MIN || value > INT64_MAX) return undefined
  return Number(value)
}

interface Interface {
  numbers: Map<string, number>
  strings: Partial<Record<StringAttribute, string>>
}

/**
 * /sys/class/net/<iface>/*, as node_exporter's netclass collector in its default (sysfs, not
 * netlink) mode: operstate as node_network_up, the text attributes as node_network_info labels and
 * every numeric attribute the device has as node_network_<property>. The /proc/net/dev counters are
 * the typed netdev family, not this collector.
 */
export const netclass: NodeCollector = {
  name: 'netclass',
  description: 'network interface properties: state, carrier, MTU, speed, flags (/sys/class/net)',
  defaultEnabled: true,
  options: {
    'ignored-devices': { default: '^$', help: 'Regexp of net devices to ignore for netclass collector.' },
    'accept-devices': {
      default: '',
      help: 'Regexp of net devices to include for netclass collector (mutually exclusive to ignored-devices).',
    },
    'ignore-invalid-speed': {
      default: 'false',
      kind: 'flag',
      help: 'Ignore devices where the speed is invalid. This will be the default behavior in 2.x.',
    },
  },
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/net')
    const ignored = new RegExp(ctx.options['ignored-devices'] ?? '^$')
    const acceptPattern = ctx.options['accept-devices'] ?? ''
    const accepted = acceptPattern === '' ? undefined : new RegExp(acceptPattern)
    const ignoreInvalidSpeed = ctx.options['ignore-invalid-speed'] === 'true'
    return {
      collect: (emit) => {
        let names: string[]
        try {
          names = ctx.fs.readDir(root)
        } catch (err) {
          // node_exporter reports no data when /sys/class/net is missing or not readable.
          if (isAbsent(err) || errorCode(err) === 'EACCES') return 'absent'
          throw err
        }
        for (const device of names) {
          if (ignored.test(device) || (accepted !== undefined && !accepted.test(device))) continue
          const path = join(root, device)
          // bonding_masters and other plain files sit beside the interfaces.
          if (!ctx.fs.isDir(path)) continue
          const iface = readInterface(ctx, path)
          if (iface === undefined) continue
          emitInterface(emit, device, iface, ignoreInvalidSpeed)
        }
      },
    }
  },
}

function readInterface(ctx: CollectorContext, path: string): Interface | undefined {
  let files: string[]
  try {
    files = ctx.fs.readDir(path)
  } catch (err) {
    // The interface went away between the two listings.
    if (isAbsent(err)) return undefined
    ctx.problem(`${path}: ${err instanceof Error ? err.message : String(err)}`)
    return undefined
  }
  const iface: Interface = { numbers: new Map(), strings: {} }
  for (const file of files) {
    if (!WANTED.has(file)) continue
    const filePath = join(path, file)
    let value: string
    try {
      value = ctx.fs.readText(filePath).trim()
    } catch (err) {
      if (!attributeUnavailable(err))
        ctx.problem(`${filePath}: ${err instanceof Error ? err.message : String(err)}`)
      continue
    }
    if ((STRING_ATTRIBUTES as readonly string[]).includes(file)) {
      iface.strings[file as StringAttribute] = value
      continue
    }
    const number = parseGoInt(value)
    if (number === undefined) ctx.problem(`${filePath}: not an integer: ${excerpt(value)}`)
    else iface.numbers.set(file, number)
  }
  return iface
}

function emitInterface(
  emit: (name: string, labels: Record<string, string>, value: number) => void,
  device: string,
  iface: Interface,
  ignoreInvalidSpeed: boolean,
): void {
  const s = iface.strings
  emit('node_network_up', { device }, s.operstate === 'up' ? 1 : 0)
  const flags = iface.numbers.get('flags')
  emit(
    'node_network_info',
    {
      device,
      address: s.address ?? '',
      broadcast: s.broadcast ?? '',
      duplex: s.duplex ?? '',
      operstate: s.operstate ?? '',
      adminstate: flags === undefined ? 'unknown' : (flags & IFF_UP) === IFF_UP ? 'up' : 'down',
      ifalias: s.ifalias ?? '',
    },
    1,
  )
  for (const [file, metric] of NUMERIC_ATTRIBUTES) {
    const value = iface.numbers.get(file)
    if (value !== undefined) emit(`node_network_${metric}`, { device }, value)
  }
  const speed = iface.numbers.get('speed')
  // Some drivers report -1 for an unknown speed; node_exporter 2.x will drop it by default.
  if (speed !== undefined && (speed >= 0 || !ignoreInvalidSpeed)) {
    // Mbit/s to bytes/s in Go's int64 arithmetic: the division truncates towards zero.
    emit('node_network_speed_bytes', { device }, Math.trunc((speed * 1_000_000) / 8))
  }
}
