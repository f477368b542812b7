import { excerpt, tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

const SLOT = /^\d+:$/
const ADDRESS = /^(?:[0-9a-fA-F]{2})+:[0-9a-fA-F]+$/
const HEX = /^[0-9a-fA-F]+$/
const QUEUES = /^([0-9a-fA-F]+):([0-9a-fA-F]+)$/
const UID = /^\d+$/

/**
 * /proc/net/udp and udp6: the tx_queue and rx_queue of every socket summed, as node_exporter's
 * udp_queues collector (procfs's NetUDPSummary). A host without IPv6 has no udp6 and sends the IPv4
 * sums alone; a socket line that does not parse is left out of the sums.
 */
export const udpQueues: NodeCollector = {
  name: 'udp_queues',
  description: 'bytes queued on UDP sockets (/proc/net/udp, udp6)',
  defaultEnabled: true,
  open: (ctx) => {
    const files = [
      { path: join(ctx.paths.procfs, 'net/udp'), ip: 'v4' },
      { path: join(ctx.paths.procfs, 'net/udp6'), ip: 'v6' },
    ]
    return {
      collect: (emit) => {
        let found = false
        for (const { path, ip } of files) {
          const sums = queueSums(ctx, path)
          if (sums === undefined) continue
          found = true
          emit('node_udp_queues', { queue: 'tx', ip }, sums.tx)
          emit('node_udp_queues', { queue: 'rx', ip }, sums.rx)
        }
        if (!found) return 'absent'
      },
    }
  },
}

/** The queue sums of one file, or undefined when this host does not have it. */
function queueSums(ctx: CollectorContext, path: string): { tx: number; rx: number } | undefined {
  let text: string
  try {
    text = ctx.fs.readText(path)
  } catch (err) {
    if (isAbsent(err)) return undefined
    throw err
  }
  let tx = 0
  let rx = 0
  // The first line is the column header.
  const start = text.indexOf('\n') + 1
  if (start === 0) return { tx, rx }
  for (const line of text.slice(start).split('\n')) {
    const fields = tokenize(line)
    if (fields.length === 0) continue
    const queues = QUEUES.exec(fields[4] ?? '')
    // The columns procfs checks before it counts a socket: sl, both addresses, st, queues and uid.
    const valid =
      fields.length >= 8 &&
      SLOT.test(fields[0] ?? '') &&
      ADDRESS.test(fields[1] ?? '') &&
      ADDRESS.test(fields[2] ?? '') &&
      HEX.test(fields[3] ?? '') &&
      UID.test(fields[7] ?? '')
    if (!valid || !queues) {
      ctx.problem(`${path}: not a socket line: ${excerpt(line)}`)
      continue
    }
    tx += Number.parseInt(queues[1] ?? '', 16)
    rx += Number.parseInt(queues[2] ?? '', 16)
  }
  return { tx, rx }
}
