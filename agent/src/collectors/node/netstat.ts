import { METRIC_NAME } from '#schemas/src/metric-model.ts'
import { excerpt, parseDecimal, tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/** node_exporter's --collector.netstat.fields default. */
const DEFAULT_FIELDS =
  '^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts|TCPOFOQueue|TCPRcvQDrop)|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$'

/**
 * /proc/net/netstat and /proc/net/snmp (pairs of lines: `Proto: Field…` then `Proto: value…`) and
 * /proc/net/snmp6 (`Ip6InReceives  7`, the protocol ending at the first `6`), as node_exporter's
 * netstat collector: every `<Proto>_<Field>` its `fields` pattern matches, untyped, as
 * node_netstat_<Proto>_<Field>.
 */
export const netstat: NodeCollector = {
  name: 'netstat',
  description: 'IP, TCP, UDP and ICMP protocol counters (/proc/net/netstat, snmp, snmp6)',
  defaultEnabled: true,
  options: {
    fields: { default: DEFAULT_FIELDS, help: 'Regexp of fields to return for netstat collector.' },
  },
  open: (ctx) => {
    const pattern = new RegExp(ctx.options.fields ?? DEFAULT_FIELDS)
    // `<Proto>_<Field>` → its metric name, or null when filtered out: the same few hundred keys come
    // back on every collection, so the pattern runs once per key, not once per read.
    const names = new Map<string, string | null>()
    const metricName = (path: string, key: string): string | null => {
      let name = names.get(key)
      if (name === undefined) {
        name = pattern.test(key) ? `node_netstat_${key}` : null
        if (name !== null && !METRIC_NAME.test(name)) {
          ctx.problem(`${path}: ${excerpt(key)} does not make a metric name`)
          name = null
        }
        names.set(key, name)
      }
      return name
    }
    const paths = {
      netstat: join(ctx.paths.procfs, 'net/netstat'),
      snmp: join(ctx.paths.procfs, 'net/snmp'),
      snmp6: join(ctx.paths.procfs, 'net/snmp6'),
    }
    return {
      collect: (emit) => {
        // By name, so a field the kernel (or a garbled file) repeats is sent once, the last value
        // winning as in node_exporter's merged maps.
        const values = new Map<string, number>()
        const add = (path: string, key: string, token: string): void => {
          const name = metricName(path, key)
          if (name === null) return
          const value = parseDecimal(token)
          if (value === undefined) ctx.problem(`${path}: ${key} is not a number: ${excerpt(token)}`)
          else values.set(name, value)
        }
        let found = false
        for (const path of [paths.netstat, paths.snmp]) {
          const text = readOptional(ctx, path)
          if (text === undefined) continue
          found = true
          parseLinePairs(ctx, path, text, add)
        }
        const snmp6 = readOptional(ctx, paths.snmp6)
        if (snmp6 !== undefined) {
          found = true
          parseSnmp6(paths.snmp6, snmp6, add)
        }
        if (!found) return 'absent'
        for (const [name, value] of values) emit(name, {}, value)
      },
    }
  },
}

/** A file this host may lack (no IPv6: no snmp6), or undefined. */
function readOptional(ctx: CollectorContext, path: string): string | undefined {
  try {
    return ctx.fs.readText(path)
  } catch (err) {
    if (isAbsent(err)) return undefined
    throw err
  }
}

type AddField = (path: string, key: string, token: string) => void

/**
 * `Proto: A B C` followed by `Proto: 1 2 3`. A values line that does not belong to the header
 * before it is taken as the next header, so one lost line costs one protocol, not the rest of the file.
 */
function parseLinePairs(ctx: CollectorContext, path: string, text: string, add: AddField): void {
  const lines = text
    .split('\n')
    .map((line) => tokenize(line))
    .filter((tokens) => tokens.length > 0)
  let i = 0
  while (i < lines.length) {
    const header = lines[i] ?? []
    const values = lines[i + 1]
    const label = header[0] ?? ''
    if (!label.endsWith(':') || values?.[0] !== label) {
      ctx.problem(`${path}: ${excerpt(header.join(' '))} is not followed by its values`)
      i += 1
      continue
    }
    i += 2
    if (values.length !== header.length) {
      ctx.problem(`${path}: ${label} has ${header.length - 1} names but ${values.length - 1} values`)
      continue
    }
    const protocol = label.slice(0, -1)
    for (let k = 1; k < header.length; k++) add(path, `${protocol}_${header[k] ?? ''}`, values[k] ?? '')
  }
}

/** `Icmp6InMsgs  7`: the protocol is the name up to its first `6`; other lines carry nothing. */
function parseSnmp6(path: string, text: string, add: AddField): void {
  for (const line of text.split('\n')) {
    const [field, value] = tokenize(line)
    if (field === undefined || value === undefined) continue
    const six = field.indexOf('6')
    if (six === -1) continue
    add(path, `${field.slice(0, six + 1)}_${field.slice(six + 1)}`, value)
  }
}
