import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/** A namespace of the controller: nvme0n1, or nvme0c0n1 for a path of a multipath namespace. */
const NAMESPACE_DIR = /^nvme[0-9]+(?:c[0-9]+)?n([0-9]+)$/
const UNSIGNED = /^[0-9]+$/

/**
 * NVMe controllers in /sys/class/nvme and their namespaces, as node_exporter's nvme collector
 * reports them: the controller's identity, and each namespace's ANA state, logical block size, and
 * size and use in bytes. Like node_exporter, size and capacity are the namespace's `size` times its
 * logical block size, although the kernel counts `size` in 512-byte sectors (only `nuse` is in
 * logical blocks): on a 4 KiB-block namespace both read 8 times the real size. Kept so the series
 * match node_exporter's.
 */
export const nvme: NodeCollector = {
  name: 'nvme',
  description: 'NVMe controllers and namespaces (/sys/class/nvme)',
  defaultEnabled: true,
  open: (ctx) => {
    const base = join(ctx.paths.sysfs, 'class/nvme')

    /** A file's trimmed text, or undefined when it is missing. */
    const read = (path: string): string | undefined => {
      try {
        return ctx.fs.readText(path).trim()
      } catch (err) {
        if (isAbsent(err)) return undefined
        throw err
      }
    }

    /** A block count, exact as a bigint: products of two counts may pass 2^53 before they become floats. */
    const readBlocks = (path: string): bigint | undefined => {
      const text = read(path)
      if (text !== undefined && UNSIGNED.test(text)) return BigInt(text)
      ctx.problem(`${path}: ${text === undefined ? 'missing' : `not a number: ${excerpt(text)}`}`)
      return undefined
    }

    return {
      collect: (emit) => {
        let devices: string[]
        try {
          devices = ctx.fs.readDir(base)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const device of devices) {
          const dir = join(base, device)
          const firmware_revision = read(join(dir, 'firmware_rev'))
          const model = read(join(dir, 'model'))
          const serial = read(join(dir, 'serial'))
          const state = read(join(dir, 'state'))
          const cntlid = read(join(dir, 'cntlid'))
          if (
            firmware_revision === undefined ||
            model === undefined ||
            serial === undefined ||
            state === undefined ||
            cntlid === undefined
          ) {
            ctx.problem(`${dir}: firmware_rev, model, serial, state or cntlid missing; controller skipped`)
            continue
          }
          emit('node_nvme_info', { device, firmware_revision, model, serial, state, cntlid }, 1)

          for (const entry of ctx.fs.readDir(dir)) {
            const nsid = NAMESPACE_DIR.exec(entry)?.[1]
            if (nsid === undefined) continue
            const nsDir = join(dir, entry)
            const size = readBlocks(join(nsDir, 'size'))
            const used = readBlocks(join(nsDir, 'nuse'))
            const blockSize = readBlocks(join(nsDir, 'queue/logical_block_size'))
            if (size === undefined || used === undefined || blockSize === undefined) continue
            const labels = { device, nsid }
            emit(
              'node_nvme_namespace_info',
              { ...labels, ana_state: read(join(nsDir, 'ana_state')) ?? 'unknown' },
              1,
            )
            emit('node_nvme_namespace_capacity_bytes', labels, Number(size * blockSize))
            emit('node_nvme_namespace_size_bytes', labels, Number(size * blockSize))
            emit('node_nvme_namespace_used_bytes', labels, Number(used * blockSize))
            emit('node_nvme_namespace_logical_block_size_bytes', labels, Number(blockSize))
          }
        }
      },
    }
  },
}
