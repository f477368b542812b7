import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

const GO_UINT =
  /^(?:0[xX](?:_?[0-9a-fA-F])+|0[bB](?:_?[01])+|0[oO](?:_?[0-7])+|0(?:_?[0-7])*|[1-9](?:_?\d)*)$/
const LEGACY_OCTAL = /^0[0-7]+$/
const UINT64_MAX = 2n ** 64n - 1n

/**
 * strconv.ParseUint(text, 0, 64), as procfs reads sysfs counters: decimal, or 0x, 0o, 0b or bare 0
 * (octal) prefixed, `_` between digits; no sign. undefined for anything else or beyond uint64. A
 * bigint, so that all 64 bits survive the comparisons some drivers' sentinels call for.
 */
export function parseGoUint(text: string): bigint | undefined {
  if (!GO_UINT.test(text)) return undefined
  let digits = text.replace(/_/g, '')
  if (LEGACY_OCTAL.test(digits)) digits = `0o${digits.slice(1)}`
  const value = BigInt(digits)
  return value > UINT64_MAX ? undefined : value
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Attributes a driver may leave out or refuse to show (some statistics files are write-only). */
function unavailable(err: unknown): boolean {
  const code = errorCode(err)
  return isAbsent(err) || code === 'EINVAL' || code === 'EOPNOTSUPP'
}

/** The host attributes node_fibrechannel_info carries as labels of the same names. */
const INFO = [
  'speed',
  'port_state',
  'port_type',
  'port_id',
  'port_name',
  'fabric_name',
  'symbolic_name',
  'supported_classes',
  'supported_speeds',
  'dev_loss_tmo',
] as const
/** Printed as `0x…` by the kernel; procfs drops the first two characters of these. */
const HEX_PREFIXED = new Set(['port_id', 'port_name', 'fabric_name'])

/** statistics/<file> → counter name. */
const COUNTERS: readonly (readonly [file: string, metric: string])[] = [
  ['dumped_frames', 'node_fibrechannel_dumped_frames_total'],
  ['error_frames', 'node_fibrechannel_error_frames_total'],
  ['invalid_crc_count', 'node_fibrechannel_invalid_crc_total'],
  ['rx_frames', 'node_fibrechannel_rx_frames_total'],
  ['rx_words', 'node_fibrechannel_rx_words_total'],
  ['tx_frames', 'node_fibrechannel_tx_frames_total'],
  ['tx_words', 'node_fibrechannel_tx_words_total'],
  ['seconds_since_last_reset', 'node_fibrechannel_seconds_since_last_reset_total'],
  ['invalid_tx_word_count', 'node_fibrechannel_invalid_tx_words_total'],
  ['link_failure_count', 'node_fibrechannel_link_failure_total'],
  ['loss_of_sync_count', 'node_fibrechannel_loss_of_sync_total'],
  ['loss_of_signal_count', 'node_fibrechannel_loss_of_signal_total'],
  ['nos_count', 'node_fibrechannel_nos_total'],
  ['fcp_packet_aborts', 'node_fibrechannel_fcp_packet_aborts_total'],
]

/** An attribute, trimmed, or undefined when the driver does not offer it. */
function readAttribute(ctx: CollectorContext, path: string): string | undefined {
  try {
    return ctx.fs.readText(path).trim()
  } catch (err) {
    if (!unavailable(err)) ctx.problem(`${path}: ${message(err)}`)
    return undefined
  }
}

/**
 * /sys/class/fc_host/<host>/*, as node_exporter's fibrechannel collector: the host's speed, port
 * and fabric as node_fibrechannel_info labels, and its statistics/ counters. A counter reading all
 * ones is one the HBA firmware does not implement, and is left out.
 */
export const fibrechannel: NodeCollector = {
  name: 'fibrechannel',
  description: 'Fibre Channel host ports: state, speed, frame and error counters (/sys/class/fc_host)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/fc_host')
    return {
      collect: (emit) => {
        let hosts: string[]
        try {
          hosts = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const host of hosts) {
          const dir = join(root, host)
          if (!ctx.fs.isDir(dir)) continue
          const info: Record<string, string> = { fc_host: host }
          for (const file of INFO) {
            const value = readAttribute(ctx, join(dir, file)) ?? ''
            info[file] = HEX_PREFIXED.has(file) && value.length > 2 ? value.slice(2) : value
          }
          emit('node_fibrechannel_info', info, 1)
          for (const [file, metric] of COUNTERS) {
            const path = join(dir, 'statistics', file)
            const text = readAttribute(ctx, path)
            if (text === undefined) continue
            const value = parseGoUint(text)
            if (value === undefined) ctx.problem(`${path}: not an unsigned integer: ${excerpt(text)}`)
            else if (value !== UINT64_MAX) emit(metric, { fc_host: host }, Number(value))
          }
        }
      },
    }
  },
}
