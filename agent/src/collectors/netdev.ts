import type { NetDevCounters, NetworkSample } from '#schemas/src/records.ts'
import {
  excerpt,
  forEachLine,
  indexIn,
  isBlank,
  matches,
  parseInteger,
  tokenize,
  type ProblemHandler,
} from './parse-util.ts'

/** The 16 columns after the colon, in the order every kernel since 2.2 prints them. */
const COLUMNS = [
  'rx_bytes',
  'rx_packets',
  'rx_errs',
  'rx_drop',
  'rx_fifo',
  'rx_frame',
  'rx_compressed',
  'rx_multicast',
  'tx_bytes',
  'tx_packets',
  'tx_errs',
  'tx_drop',
  'tx_fifo',
  'tx_colls',
  'tx_carrier',
  'tx_compressed',
] as const satisfies readonly (keyof NetDevCounters)[]

export interface NetDevFilter {
  /** Only interfaces whose name matches (like node_exporter's --collector.netdev.device-include). */
  include?: RegExp
  /**
   * Interfaces whose name matches are left out (--collector.netdev.device-exclude). Neither is set
   * by default: node_exporter reports every interface, loopback included (Debian's package alone
   * passes `--collector.netdev.device-exclude=^lo$`).
   */
  exclude?: RegExp | null
}

/**
 * /proc/net/dev → NetworkSample, one entry per interface that passes the filter, in file order.
 * The name is everything before the last ':', so right-aligned names and a counter glued to the
 * colon (`eth0:1234567890 …`) both read correctly. An interface line that cannot be read is left
 * out and reported.
 */
export function parseNetDev(text: string, filter?: NetDevFilter, onError?: ProblemHandler): NetworkSample {
  const interfaces: NetDevCounters[] = []
  const exclude = filter?.exclude ?? null
  let headerLines = 0
  forEachLine(text, (start, end) => {
    if (indexIn(text, '|', start, end) !== -1) {
      headerLines++
      return
    }
    if (isBlank(text, start, end)) return
    const colon = text.lastIndexOf(':', end - 1)
    const device = colon < start ? '' : text.slice(start, colon).trim()
    if (device === '') {
      onError?.(`/proc/net/dev: no interface name in ${excerpt(text.slice(start, end))}`)
      return
    }
    if (filter?.include !== undefined && !matches(filter.include, device)) return
    if (exclude !== null && matches(exclude, device)) return
    const counters = parseCounters(device, tokenize(text, colon + 1, end))
    if (counters === undefined)
      onError?.(`/proc/net/dev: unreadable counters in ${excerpt(text.slice(start, end))}`)
    else interfaces.push(counters)
  })
  if (headerLines === 0) onError?.('/proc/net/dev: no header lines')
  return { interfaces }
}

/** An interface with every counter at zero, to fill in column by column. */
export function zeroNetDevCounters(device: string): NetDevCounters {
  return {
    device,
    rx_bytes: 0,
    rx_packets: 0,
    rx_errs: 0,
    rx_drop: 0,
    rx_fifo: 0,
    rx_frame: 0,
    rx_compressed: 0,
    rx_multicast: 0,
    tx_bytes: 0,
    tx_packets: 0,
    tx_errs: 0,
    tx_drop: 0,
    tx_fifo: 0,
    tx_colls: 0,
    tx_carrier: 0,
    tx_compressed: 0,
  }
}

function parseCounters(device: string, fields: readonly string[]): NetDevCounters | undefined {
  if (fields.length < COLUMNS.length) return undefined
  const counters = zeroNetDevCounters(device)
  for (let i = 0; i < COLUMNS.length; i++) {
    const column = COLUMNS[i]
    const value = parseInteger(fields[i] ?? '')
    if (column === undefined || value === undefined || value < 0) return undefined
    counters[column] = value
  }
  return counters
}
