import { excerpt, tokenize } from '../parse-util.ts'
import { deviceFilter, isAbsent, join, type NodeCollector } from './collector.ts'

/** `IP address  HW type  Flags  HW address  Mask  Device`: nine words, skipped by count as procfs does. */
const HEADER_WORDS = 9
const ENTRY_WORDS = 6
/** Go's net.ParseMAC: 6, 8 or 20 bytes as `aa:bb:…`, `aa-bb-…` or `aabb.ccdd.…`. */
const MAC_COLON = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})+$/
const MAC_DASH = /^[0-9a-fA-F]{2}(?:-[0-9a-fA-F]{2})+$/
const MAC_DOT = /^[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4})+$/
const MAC_BYTES = new Set([6, 8, 20])
const FLAGS = /^(?:0[xX][0-9a-fA-F]{1,2}|\d{1,3})$/

/**
 * /proc/net/arp, as node_exporter's arp collector with --no-collector.arp.netlink: entries counted
 * per device. node_exporter reads the kernel's neighbour table over netlink by default (adding
 * node_arp_states); the agent has no netlink socket and always takes this path.
 */
export const arp: NodeCollector = {
  name: 'arp',
  description: 'ARP table entries per device (/proc/net/arp)',
  defaultEnabled: true,
  options: {
    'device-include': {
      default: '',
      help: 'Regexp of arp devices to include (mutually exclusive to device-exclude).',
    },
    'device-exclude': {
      default: '',
      help: 'Regexp of arp devices to exclude (mutually exclusive to device-include).',
    },
  },
  open: (ctx) => {
    const path = join(ctx.paths.procfs, 'net/arp')
    const wanted = deviceFilter(ctx.options['device-include'] ?? '', ctx.options['device-exclude'] ?? '')
    return {
      collect: (emit) => {
        let text: string
        try {
          text = ctx.fs.readText(path)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        const entries = new Map<string, number>()
        for (const line of text.split('\n')) {
          const words = tokenize(line)
          if (words.length === 0 || words.length === HEADER_WORDS) continue
          const [, , flags = '', mac = '', , device = ''] = words
          if (words.length !== ENTRY_WORDS || !FLAGS.test(flags) || Number(flags) > 255 || !isMac(mac)) {
            ctx.problem(`${path}: not an ARP entry: ${excerpt(line)}`)
            continue
          }
          entries.set(device, (entries.get(device) ?? 0) + 1)
        }
        for (const [device, count] of entries) if (wanted(device)) emit('node_arp_entries', { device }, count)
      },
    }
  },
}

function isMac(text: string): boolean {
  if (MAC_COLON.test(text) || MAC_DASH.test(text)) return MAC_BYTES.has((text.length + 1) / 3)
  if (MAC_DOT.test(text)) return MAC_BYTES.has(((text.length + 1) / 5) * 2)
  return false
}
