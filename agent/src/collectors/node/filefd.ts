import { parseInteger, tokenize } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/**
 * /proc/sys/fs/file-nr: `allocated  free  maximum` (free is always 0 since Linux 2.6). As
 * node_exporter's filefd collector: the first and third numbers.
 */
export const filefd: NodeCollector = {
  name: 'filefd',
  description: 'file handles allocated and the maximum (/proc/sys/fs/file-nr)',
  defaultEnabled: true,
  open: (ctx) => {
    const path = join(ctx.paths.procfs, 'sys/fs/file-nr')
    return {
      collect: (emit) => {
        let text: string
        try {
          text = ctx.fs.readText(path)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        const [allocated, , maximum] = tokenize(text).map(parseInteger)
        if (allocated === undefined || maximum === undefined) {
          ctx.problem(`${path}: expected three numbers, got ${JSON.stringify(text.trim().slice(0, 80))}`)
          return
        }
        emit('node_filefd_allocated', {}, allocated)
        emit('node_filefd_maximum', {}, maximum)
      },
    }
  },
}
