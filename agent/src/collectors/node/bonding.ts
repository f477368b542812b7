import { tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * A slave's MII status. The link to the slave's folder is `lower_<slave>`, or `slave_<slave>` on
 * older kernels; undefined when neither can be read.
 */
function miiStatus(ctx: CollectorContext, master: string, slave: string): string | undefined {
  for (const link of [`lower_${slave}`, `slave_${slave}`]) {
    const path = join(master, link, 'bonding_slave', 'mii_status')
    try {
      return ctx.fs.readText(path).trim()
    } catch (err) {
      if (!isAbsent(err)) {
        ctx.problem(`${path}: ${message(err)}`)
        return undefined
      }
    }
  }
  ctx.problem(`${master}: slave ${slave} has no lower_${slave}/ or slave_${slave}/bonding_slave/mii_status`)
  return undefined
}

/**
 * /sys/class/net/bonding_masters and each master's bonding/slaves, as node_exporter's bonding
 * collector: per bonding interface, how many slaves it has and how many of them have MII status up.
 */
export const bonding: NodeCollector = {
  name: 'bonding',
  description: 'bonding interfaces: configured and active slaves (/sys/class/net/*/bonding)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/net')
    const mastersPath = join(root, 'bonding_masters')
    return {
      collect: (emit) => {
        let masters: string
        try {
          masters = ctx.fs.readText(mastersPath)
        } catch (err) {
          // No bonding driver loaded.
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const master of tokenize(masters)) {
          const dir = join(root, master)
          let slaves: string
          try {
            slaves = ctx.fs.readText(join(dir, 'bonding', 'slaves'))
          } catch (err) {
            // A master removed since bonding_masters was read has nothing left to count.
            if (!isAbsent(err)) ctx.problem(`${join(dir, 'bonding', 'slaves')}: ${message(err)}`)
            continue
          }
          let configured = 0
          let active = 0
          let complete = true
          for (const slave of tokenize(slaves)) {
            const status = miiStatus(ctx, dir, slave)
            if (status === undefined) {
              complete = false
              break
            }
            configured++
            if (status === 'up') active++
          }
          // Counts missing a slave would understate the bond: node_exporter fails rather than send them.
          if (!complete) continue
          emit('node_bonding_slaves', { master }, configured)
          emit('node_bonding_active', { master }, active)
        }
      },
    }
  },
}
