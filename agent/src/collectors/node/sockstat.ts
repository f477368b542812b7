import { readFileSync } from 'node:fs'
import { endianness } from 'node:os'
import { excerpt, parseInteger, tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/** The states node_exporter exports, in its order; other keys of a line are not exported. */
const STATES = ['inuse', 'orphan', 'tw', 'alloc', 'mem', 'memory'] as const
const PROTOCOL = /^[A-Za-z0-9]+$/

/**
 * /proc/net/sockstat and sockstat6 (`TCP: inuse 4 orphan 0 tw 4 alloc 17 mem 1`), as node_exporter's
 * sockstat collector: node_sockstat_<PROTO>_<state> per key, `mem` (pages) also as `mem_bytes`, and
 * the IPv4 file's `sockets: used` as node_sockstat_sockets_used. A host without IPv6 has no
 * sockstat6 and sends the IPv4 part alone.
 */
export const sockstat: NodeCollector = {
  name: 'sockstat',
  description: 'sockets in use per protocol and state (/proc/net/sockstat, sockstat6)',
  defaultEnabled: true,
  open: (ctx) => {
    const pageSize = pageSizeOf(ctx.paths.procfs)
    const files = [
      { path: join(ctx.paths.procfs, 'net/sockstat'), ipv4: true },
      { path: join(ctx.paths.procfs, 'net/sockstat6'), ipv4: false },
    ]
    return {
      collect: (emit) => {
        let found = false
        for (const { path, ipv4 } of files) {
          const text = readOptional(ctx, path)
          if (text === undefined) continue
          found = true
          for (const line of text.split('\n')) {
            const tokens = tokenize(line)
            if (tokens.length === 0) continue
            const protocol = parseLine(tokens)
            if (protocol === undefined) {
              ctx.problem(`${path}: expected "PROTO: key value …", got ${excerpt(line)}`)
              continue
            }
            // procfs keeps `used` and `inuse` as plain ints, so a line without them still reports 0.
            if (protocol.name === 'sockets') {
              // sockstat6 has no such line; node_exporter would not export it from there either.
              if (ipv4) emit('node_sockstat_sockets_used', {}, protocol.values.get('used') ?? 0)
              continue
            }
            for (const state of STATES) {
              const value = protocol.values.get(state)
              if (value !== undefined || state === 'inuse')
                emit(`node_sockstat_${protocol.name}_${state}`, {}, value ?? 0)
            }
            const mem = protocol.values.get('mem')
            if (mem !== undefined) emit(`node_sockstat_${protocol.name}_mem_bytes`, {}, mem * pageSize)
          }
        }
        if (!found) return 'absent'
      },
    }
  },
}

function readOptional(ctx: CollectorContext, path: string): string | undefined {
  try {
    return ctx.fs.readText(path)
  } catch (err) {
    if (isAbsent(err)) return undefined
    throw err
  }
}

/** `PROTO:` and its key/value pairs, or undefined when the line is not of that shape. */
function parseLine(tokens: string[]): { name: string; values: Map<string, number> } | undefined {
  const label = tokens[0] ?? ''
  if (tokens.length < 3 || tokens.length % 2 === 0 || !label.endsWith(':')) return undefined
  const name = label.slice(0, -1)
  if (!PROTOCOL.test(name)) return undefined
  const values = new Map<string, number>()
  for (let i = 1; i < tokens.length; i += 2) {
    const value = parseInteger(tokens[i + 1] ?? '')
    if (value === undefined) return undefined
    values.set(tokens[i] ?? '', value)
  }
  return { name, values }
}

const AT_NULL = 0
const AT_PAGESZ = 6
/** x86-64's and most arm64 kernels' page size. */
const DEFAULT_PAGE_SIZE = 4096
const ARCH_32_BIT = new Set(['arm', 'ia32', 'mips', 'mipsel', 'ppc', 's390'])

/**
 * The page size `mem` is counted in, as node_exporter takes it (os.Getpagesize: AT_PAGESZ of the
 * auxiliary vector the kernel gave the process). Read from `self/auxv` of the configured /proc, which
 * is this agent's own entry under the monitored kernel; a copied tree without one (a fixture) gets
 * 4 KiB. Binary, so read directly rather than through ctx.fs's text reads.
 */
function pageSizeOf(procfs: string): number {
  let auxv: Buffer
  try {
    auxv = readFileSync(join(procfs, 'self/auxv'))
  } catch {
    return DEFAULT_PAGE_SIZE
  }
  const word = ARCH_32_BIT.has(process.arch) ? 4 : 8
  const little = endianness() === 'LE'
  const read = (offset: number): number => {
    if (word === 4) return little ? auxv.readUInt32LE(offset) : auxv.readUInt32BE(offset)
    return Number(little ? auxv.readBigUInt64LE(offset) : auxv.readBigUInt64BE(offset))
  }
  for (let offset = 0; offset + 2 * word <= auxv.length; offset += 2 * word) {
    const type = read(offset)
    if (type === AT_NULL) break
    if (type === AT_PAGESZ) return read(offset + word)
  }
  return DEFAULT_PAGE_SIZE
}
