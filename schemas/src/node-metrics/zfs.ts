import type { MetricFamilyInfo } from '../metric-model.ts'
import type { MetricCatalogue } from './index.ts'

/**
 * The kstat files under /proc/spl/kstat/zfs node_exporter's zfs collector reads, by the subsystem
 * its names carry: every 64-bit value `<name>` of `arcstats` becomes `node_zfs_arc_<name>` with
 * HELP `kstat.zfs.misc.arcstats.<name>`. The collector reads the same table.
 */
export const ZFS_KSTAT_FILES: Readonly<Record<string, string>> = {
  abd: 'abdstats',
  arc: 'arcstats',
  dbuf: 'dbufstats',
  dmu_tx: 'dmu_tx',
  dnode: 'dnodestats',
  fm: 'fm',
  vdev_cache: 'vdev_cache_stats',
  vdev_mirror: 'vdev_mirror_stats',
  xuio: 'xuio_stats',
  zfetch: 'zfetchstats',
  zil: 'zil',
}

const PREFIX = 'node_zfs_'
/** Per pool: `<pool>/objset-*` values, labelled by zpool and dataset. */
const DATASET_PREFIX = 'zpool_dataset_'
/** Per pool: the columns of `<pool>/io`, labelled by zpool. */
const POOL_PREFIX = 'zpool_'

function untyped(name: string, kstat: string): MetricFamilyInfo {
  return { name, help: `kstat.zfs.misc.${kstat}`, type: 'untyped' }
}

/**
 * node_exporter collector/zfs_linux.go. It builds each name and HELP from the kstat's own name, so
 * only the pool state is fixed; the rest are recovered from the name. node_exporter turns `-` into
 * `_` in names but keeps the kstat name in HELP: of the files it reads only `fm` names its kstats
 * with dashes (`erpt-dropped`), so there the HELP gets them back.
 */
export const ZFS: MetricCatalogue = {
  collector: 'zfs',
  metrics: [{ name: 'node_zfs_zpool_state', help: 'kstat.zfs.misc.state', type: 'gauge' }],
  dynamic: (name) => {
    if (!name.startsWith(PREFIX)) return undefined
    const rest = name.slice(PREFIX.length)
    const after = (prefix: string): string | undefined =>
      rest.startsWith(prefix) && rest.length > prefix.length ? rest.slice(prefix.length) : undefined
    const dataset = after(DATASET_PREFIX)
    if (dataset !== undefined) return untyped(name, `objset.${dataset}`)
    const column = after(POOL_PREFIX)
    if (column !== undefined) return untyped(name, `io.${column}`)
    for (const [subsystem, file] of Object.entries(ZFS_KSTAT_FILES)) {
      const kstat = after(`${subsystem}_`)
      if (kstat !== undefined)
        return untyped(name, `${file}.${subsystem === 'fm' ? kstat.replaceAll('_', '-') : kstat}`)
    }
    return undefined
  },
}
