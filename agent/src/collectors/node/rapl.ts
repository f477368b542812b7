import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

const UINT = /^\d+$/
const UINT64_MAX = 2n ** 64n - 1n
/** node_exporter's SanitizeMetricName: each run of characters a metric name cannot hold becomes one `_`. */
const NOT_NAME_CHARS = /_*[^0-9A-Za-z_]+_*/g
const MICROJOULES_PER_JOULE = 1000000.0
/** `package-1`: a name with one `-` before an integer carries its own index. */
const INDEXED_NAME = /^([^-]*)-([+-]?\d+)$/

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
}

function denied(err: unknown): boolean {
  const code = errorCode(err)
  return code === 'EACCES' || code === 'EPERM'
}

interface Zone {
  name: string
  index: number
  path: string
}

/**
 * The RAPL zones under /sys/class/powercap, named as procfs's GetRaplZones names them: a name file
 * `package-1` is zone `package` index 1; a name without an index (`core`, `dram`) is numbered by how
 * often it was seen before. Entries without a name file (the `intel-rapl` control type) are skipped.
 */
function raplZones(ctx: CollectorContext, root: string, entries: readonly string[]): Zone[] {
  const uses = new Map<string, number>()
  const zones: Zone[] = []
  for (const entry of entries) {
    let name: string
    try {
      name = ctx.fs.readText(join(root, entry, 'name')).trim()
    } catch {
      continue
    }
    let index = uses.get(name) ?? 0
    const indexed = INDEXED_NAME.exec(name)
    if (indexed !== null) {
      name = indexed[1] ?? ''
      index = Number(indexed[2])
    }
    zones.push({ name, index, path: join(root, entry) })
    uses.set(name, index + 1)
  }
  return zones
}

/**
 * /sys/class/powercap/<zone>/energy_uj, as node_exporter's rapl collector: each RAPL zone's energy
 * counter in joules, as node_rapl_<zone>_joules_total, or node_rapl_joules_total with a rapl_zone
 * label when enable-zone-label is set.
 */
export const rapl: NodeCollector = {
  name: 'rapl',
  description: 'RAPL energy counters of CPU packages, cores and DRAM (/sys/class/powercap)',
  defaultEnabled: true,
  options: {
    'enable-zone-label': { default: 'false', kind: 'flag', help: 'Enables RAPL zone labels' },
  },
  open: (ctx) => {
    const root = join(ctx.paths.sysfs, 'class/powercap')
    const zoneLabel = ctx.options['enable-zone-label'] === 'true'
    return {
      collect: (emit) => {
        let entries: string[]
        try {
          entries = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err) || denied(err)) return 'absent'
          throw err
        }
        // Held back until every counter is read: one the agent may not read makes the whole
        // collection absent, as node_exporter then reports no data at all.
        const points: [name: string, labels: Record<string, string>, value: number][] = []
        for (const zone of raplZones(ctx, root, entries)) {
          const path = join(zone.path, 'energy_uj')
          let text: string
          try {
            text = ctx.fs.readText(path).trim()
          } catch (err) {
            // Since Linux 5.10 energy_uj is readable by root only; node_exporter then reports no data.
            if (denied(err)) return 'absent'
            ctx.problem(`${path}: ${err instanceof Error ? err.message : String(err)}`)
            continue
          }
          const microjoules = UINT.test(text) ? BigInt(text) : undefined
          if (microjoules === undefined || microjoules > UINT64_MAX) {
            ctx.problem(`${path}: not a counter: ${excerpt(text)}`)
            continue
          }
          const joules = Number(microjoules) / MICROJOULES_PER_JOULE
          const index = String(zone.index)
          if (zoneLabel)
            points.push(['node_rapl_joules_total', { index, path: zone.path, rapl_zone: zone.name }, joules])
          else {
            const name = `node_rapl_${zone.name.replace(NOT_NAME_CHARS, '_')}_joules_total`
            points.push([name, { index, path: zone.path }, joules])
          }
        }
        for (const [name, labels, value] of points) emit(name, labels, value)
      },
    }
  },
}
