import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

type Emit = (name: string, labels: Record<string, string>, value: number) => void

/**
 * Counter file → node_infiniband_<metric>, and whether it counts 32-bit words: the data counters
 * are "divided by 4 unconditionally" by the HCAs (Mellanox), so procfs multiplies them back into
 * octets.
 */
type Counter = readonly [metric: string, words: boolean]

const COUNTERS = new Map<string, Counter>([
  ['excessive_buffer_overrun_errors', ['excessive_buffer_overrun_errors_total', false]],
  ['link_downed', ['link_downed_total', false]],
  ['link_error_recovery', ['link_error_recovery_total', false]],
  ['local_link_integrity_errors', ['local_link_integrity_errors_total', false]],
  ['multicast_rcv_packets', ['multicast_packets_received_total', false]],
  ['multicast_xmit_packets', ['multicast_packets_transmitted_total', false]],
  ['port_rcv_constraint_errors', ['port_constraint_errors_received_total', false]],
  ['port_rcv_data', ['port_data_received_bytes_total', true]],
  ['port_rcv_discards', ['port_discards_received_total', false]],
  ['port_rcv_errors', ['port_errors_received_total', false]],
  ['port_rcv_packets', ['port_packets_received_total', false]],
  ['port_rcv_remote_physical_errors', ['port_receive_remote_physical_errors_total', false]],
  ['port_rcv_switch_relay_errors', ['port_receive_switch_relay_errors_total', false]],
  ['port_xmit_constraint_errors', ['port_constraint_errors_transmitted_total', false]],
  ['port_xmit_data', ['port_data_transmitted_bytes_total', true]],
  ['port_xmit_discards', ['port_discards_transmitted_total', false]],
  ['port_xmit_packets', ['port_packets_transmitted_total', false]],
  ['port_xmit_wait', ['port_transmit_wait_total', false]],
  ['symbol_error', ['symbol_error_total', false]],
  ['unicast_rcv_packets', ['unicast_packets_received_total', false]],
  ['unicast_xmit_packets', ['unicast_packets_transmitted_total', false]],
  ['VL15_dropped', ['vl15_dropped_total', false]],
])

/** counters_ext/: the 64-bit counters kernels before 4.5 kept apart, exported as node_infiniband_legacy_*. */
const LEGACY_COUNTERS = new Map<string, Counter>([
  ['port_multicast_rcv_packets', ['legacy_multicast_packets_received_total', false]],
  ['port_multicast_xmit_packets', ['legacy_multicast_packets_transmitted_total', false]],
  ['port_rcv_data_64', ['legacy_data_received_bytes_total', true]],
  ['port_rcv_packets_64', ['legacy_packets_received_total', false]],
  ['port_unicast_rcv_packets', ['legacy_unicast_packets_received_total', false]],
  ['port_unicast_xmit_packets', ['legacy_unicast_packets_transmitted_total', false]],
  ['port_xmit_data_64', ['legacy_data_transmitted_bytes_total', true]],
  ['port_xmit_packets_64', ['legacy_packets_transmitted_total', false]],
])

/** A driver without a performance management agent prints this instead of a count (node_exporter#966). */
const NO_PMA = 'N/A (no PMA)'

const GO_UINT =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?\d)*)$/
const LEGACY_OCTAL = /^0[0-7]+$/
const UINT64_MAX = 2n ** 64n - 1n
const UINT32_MAX = 2 ** 32 - 1
const DECIMAL_FLOAT = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
/** Gb/s → bytes/s. */
const BYTES_PER_GIGABIT = 125_000_000

/** strconv.ParseUint(text, 0, 64), which procfs reads the counters with: 0x, 0o, 0b or 0 (octal) prefixes. */
function parseGoUint(text: string): bigint | undefined {
  if (!GO_UINT.test(text)) return undefined
  let digits = text.replace(/_/g, '')
  if (LEGACY_OCTAL.test(digits)) digits = `0o${digits.slice(1)}`
  const value = BigInt(digits)
  return value > UINT64_MAX ? undefined : value
}

/** `4: ACTIVE` → 4, as procfs's parseState: exactly one colon, a decimal uint32 before it. */
function parseStateId(text: string): number | undefined {
  const parts = text.split(':')
  const id = parts.length === 2 ? (parts[0] ?? '').trim() : ''
  if (!/^\d+$/.test(id) || Number(id) > UINT32_MAX) return undefined
  return Number(id)
}

/**
 * `40 Gb/sec (4X QDR)` → bytes/s, as procfs's parseRate: the text before the first space, read as a
 * float32, times 125,000,000, truncated.
 */
function parseRate(text: string): number | undefined {
  const space = text.indexOf(' ')
  if (space < 0) return undefined
  const gigabits = text.slice(0, space).trim()
  if (!DECIMAL_FLOAT.test(gigabits)) return undefined
  return Math.trunc(Math.fround(Number(gigabits)) * BYTES_PER_GIGABIT)
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Read errors procfs takes as "this port has no such counter" (permissions, EINVAL, EOPNOTSUPP). */
function counterUnavailable(err: unknown): boolean {
  const code = errorCode(err)
  return isAbsent(err) || code === 'EACCES' || code === 'EPERM' || code === 'EINVAL'
}

/**
 * /sys/class/infiniband/<device>, as node_exporter's infiniband collector (procfs's InfiniBandClass):
 * node_infiniband_info per device; per port its state, physical state and rate, and every counter of
 * counters/ and counters_ext/ the driver reports.
 */
export const infiniband: NodeCollector = {
  name: 'infiniband',
  description: 'InfiniBand and RDMA ports: state, rate, traffic and error counters (/sys/class/infiniband)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/infiniband')
    return {
      collect: (emit) => {
        let devices: string[]
        try {
          devices = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const device of devices) collectDevice(ctx, emit, join(root, device), device)
      },
    }
  },
}

function collectDevice(ctx: CollectorContext, emit: Emit, dir: string, device: string): void {
  let firmware: string
  try {
    // procfs refuses a device without fw_ver (every driver has it since Linux 4.10).
    firmware = ctx.fs.readText(join(dir, 'fw_ver')).trim()
  } catch (err) {
    ctx.problem(`${join(dir, 'fw_ver')}: ${message(err)}; device skipped`)
    return
  }
  emit(
    'node_infiniband_info',
    {
      device,
      board_id: readOptional(ctx, join(dir, 'board_id')),
      firmware_version: firmware,
      hca_type: readOptional(ctx, join(dir, 'hca_type')),
    },
    1,
  )
  const portsDir = join(dir, 'ports')
  let ports: string[]
  try {
    ports = ctx.fs.readDir(portsDir)
  } catch (err) {
    ctx.problem(`${portsDir}: ${message(err)}`)
    return
  }
  for (const port of ports) collectPort(ctx, emit, join(portsDir, port), device, port)
}

/** board_id and hca_type: not every driver has them ('' then). */
function readOptional(ctx: CollectorContext, path: string): string {
  try {
    return ctx.fs.readText(path).trim()
  } catch (err) {
    if (!isAbsent(err)) ctx.problem(`${path}: ${message(err)}`)
    return ''
  }
}

function collectPort(ctx: CollectorContext, emit: Emit, dir: string, device: string, name: string): void {
  if (!/^\d+$/.test(name) || Number(name) > UINT32_MAX) {
    ctx.problem(`${dir}: not a port number`)
    return
  }
  const labels = { device, port: String(Number(name)) }
  const state = readParsed(ctx, join(dir, 'state'), parseStateId)
  const physState = readParsed(ctx, join(dir, 'phys_state'), parseStateId)
  const rate = readParsed(ctx, join(dir, 'rate'), parseRate)
  // procfs gives up on a port when any of the three is missing or does not parse.
  if (state === undefined || physState === undefined || rate === undefined) return
  emit('node_infiniband_state_id', { ...labels }, state)
  emit('node_infiniband_physical_state_id', { ...labels }, physState)
  emit('node_infiniband_rate_bytes_per_second', { ...labels }, rate)
  // counters_ext/ is only read beside counters/, as procfs does.
  if (!ctx.fs.isDir(join(dir, 'counters'))) return
  collectCounters(ctx, emit, join(dir, 'counters'), COUNTERS, labels, true)
  collectCounters(ctx, emit, join(dir, 'counters_ext'), LEGACY_COUNTERS, labels, false)
}

function readParsed(
  ctx: CollectorContext,
  path: string,
  parse: (text: string) => number | undefined,
): number | undefined {
  let text: string
  try {
    text = ctx.fs.readText(path)
  } catch (err) {
    ctx.problem(`${path}: ${message(err)}; port skipped`)
    return undefined
  }
  const value = parse(text)
  if (value === undefined) ctx.problem(`${path}: not parsed: ${excerpt(text.trim())}; port skipped`)
  return value
}

function collectCounters(
  ctx: CollectorContext,
  emit: Emit,
  dir: string,
  known: ReadonlyMap<string, Counter>,
  labels: Readonly<Record<string, string>>,
  required: boolean,
): void {
  let files: string[]
  try {
    files = ctx.fs.readDir(dir)
  } catch (err) {
    if (required || !isAbsent(err)) ctx.problem(`${dir}: ${message(err)}`)
    return
  }
  for (const file of files) {
    const counter = known.get(file)
    if (counter === undefined) continue
    const path = join(dir, file)
    let text: string
    try {
      text = ctx.fs.readText(path).trim()
    } catch (err) {
      if (!counterUnavailable(err)) ctx.problem(`${path}: ${message(err)}`)
      continue
    }
    const value = parseGoUint(text)
    if (value === undefined) {
      if (!text.includes(NO_PMA)) ctx.problem(`${path}: not an unsigned integer: ${excerpt(text)}`)
      continue
    }
    const [metric, words] = counter
    // uint64 arithmetic, as procfs's `*= 4`: a word count past 2^62 wraps.
    emit(`node_infiniband_${metric}`, { ...labels }, Number(words ? BigInt.asUintN(64, value * 4n) : value))
  }
}
