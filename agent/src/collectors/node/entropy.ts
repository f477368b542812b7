import { excerpt, parseInteger } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/**
 * /proc/sys/kernel/random: entropy_avail and poolsize, as node_exporter's entropy collector. No
 * entropy_avail means no random-pool interface here ('absent'); a kernel without poolsize sends the
 * available bits alone.
 */
export const entropy: NodeCollector = {
  name: 'entropy',
  description: 'available entropy and the pool size (/proc/sys/kernel/random)',
  defaultEnabled: true,
  open: (ctx) => {
    const availablePath = join(ctx.paths.procfs, 'sys/kernel/random/entropy_avail')
    const poolSizePath = join(ctx.paths.procfs, 'sys/kernel/random/poolsize')
    return {
      collect: (emit) => {
        const available = readNumber(ctx, availablePath)
        if (available === 'absent') return 'absent'
        if (available !== undefined) emit('node_entropy_available_bits', {}, available)
        const poolSize = readNumber(ctx, poolSizePath)
        if (typeof poolSize === 'number') emit('node_entropy_pool_size_bits', {}, poolSize)
      },
    }
  },
}

/** A file holding one unsigned decimal number; undefined (reported) when it holds something else. */
function readNumber(ctx: CollectorContext, path: string): number | undefined | 'absent' {
  let text: string
  try {
    text = ctx.fs.readText(path).trim()
  } catch (err) {
    if (isAbsent(err)) return 'absent'
    throw err
  }
  const value = parseInteger(text)
  if (value !== undefined && value >= 0) return value
  ctx.problem(`${path}: expected a number, got ${excerpt(text)}`)
  return undefined
}
