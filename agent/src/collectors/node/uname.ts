import { hostname, machine, release, type, version } from 'node:os'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/**
 * uname(2), as node_exporter's uname collector reports it. Node's os module answers from uname for
 * every field but the NIS domain name; the kernel publishes that in /proc/sys/kernel/domainname for
 * the UTS namespace of the process reading it, which is the namespace uname answers for too.
 */
export const uname: NodeCollector = {
  name: 'uname',
  description: 'kernel name, release, version and machine, host and domain name (uname(2))',
  defaultEnabled: true,
  open: (ctx) => {
    const domainnamePath = join(ctx.paths.procfs, 'sys/kernel/domainname')
    const domainname = (): string => {
      try {
        return ctx.fs.readText(domainnamePath).replace(/\n$/, '')
      } catch (err) {
        // Without procfs the name is unknown; the other five fields still are.
        if (isAbsent(err)) return ''
        throw err
      }
    }
    return {
      collect: (emit): undefined => {
        emit(
          'node_uname_info',
          {
            sysname: type(),
            release: release(),
            version: version(),
            machine: machine(),
            nodename: hostname(),
            domainname: domainname(),
          },
          1,
        )
      },
    }
  },
}
