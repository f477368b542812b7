import { METRIC_NAME, type EmitPoint } from '#schemas/src/metric-model.ts'
import { ZFS_KSTAT_FILES } from '#schemas/src/node-metrics/zfs.ts'
import { excerpt, tokenEnd, tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/** The states node_exporter gives a series each, 1 for the pool's current one. */
const POOL_STATES = ['online', 'degraded', 'faulted', 'offline', 'removed', 'unavail', 'suspended']

/** kstat data types (lib/libspl/include/sys/kstat.h) node_exporter reads: KSTAT_DATA_INT64 and _UINT64. */
const INT64 = '3'
const UINT64 = '4'
const SIGNED = /^-?\d+$/
const UNSIGNED = /^\d+$/

interface KstatRow {
  readonly name: string
  readonly type: string
  /** The rest of the line: one number, or a string kstat such as a dataset name, spaces and all. */
  readonly data: string
  readonly line: string
}

/**
 * A named kstat file: a header `<id> <type> …`, the line `name type data`, then one row per
 * statistic. Undefined when the `name type data` line is missing.
 */
function kstatRows(text: string): KstatRow[] | undefined {
  const lines = text.split('\n')
  const header = lines.findIndex((line) => tokenize(line).join(' ') === 'name type data')
  if (header === -1) return undefined
  const rows: KstatRow[] = []
  for (const line of lines.slice(header + 1)) {
    const tokens = tokenize(line)
    const [name, type] = tokens
    if (name === undefined || type === undefined || tokens.length < 3) continue
    const dataStart = tokenEnd(line, tokenEnd(line, 0, line.length), line.length)
    rows.push({ name, type, data: line.slice(dataStart).trim(), line })
  }
  return rows
}

/** A 64-bit kstat as Go's float64() rounds it (beyond 2^53, where parseInteger gives up). */
function kstatValue(row: KstatRow): number | undefined {
  return (row.type === UINT64 ? UNSIGNED : SIGNED).test(row.data) ? Number(row.data) : undefined
}

/**
 * OpenZFS statistics from /proc/spl/kstat/zfs, as node_exporter's zfs collector maps them: each
 * 64-bit value of the kstat files it knows as `node_zfs_<subsystem>_<name>`, each pool's `io`
 * columns as node_zfs_zpool_*, each dataset's `objset-*` values as node_zfs_zpool_dataset_*, and
 * the pool's state. All untyped but the state, as node_exporter declares them.
 */
export const zfs: NodeCollector = {
  name: 'zfs',
  description: 'OpenZFS ARC, pool and dataset statistics (/proc/spl/kstat/zfs)',
  defaultEnabled: true,
  open: (ctx) => {
    const root = join(ctx.paths.procfs, 'spl/kstat/zfs')
    return {
      collect: (emit) => {
        let entries: string[]
        try {
          entries = ctx.fs.readDir(root)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        // Each ZFS version has its own set of files: the ones this one lacks are skipped.
        for (const [subsystem, file] of Object.entries(ZFS_KSTAT_FILES)) {
          const path = join(root, file)
          const text = readOptional(ctx, path)
          if (text === undefined) continue
          const rows = kstatRows(text)
          if (!rows) {
            ctx.problem(`${path}: no "name type data" line`)
            continue
          }
          for (const row of rows) {
            if (row.type !== UINT64 && row.type !== INT64) continue
            const value = kstatValue(row)
            const name = `node_zfs_${subsystem}_${row.name.replaceAll('-', '_')}`
            if (value === undefined || !METRIC_NAME.test(name)) {
              ctx.problem(`${path}: unreadable kstat ${excerpt(row.line)}`)
              continue
            }
            emit(name, {}, value)
          }
        }
        for (const pool of entries) {
          const dir = join(root, pool)
          if (!ctx.fs.isDir(dir)) continue
          collectPoolIo(ctx, dir, pool, emit)
          const files = ifPresent(() => ctx.fs.readDir(dir)) ?? []
          for (const objset of files.filter((name) => name.startsWith('objset-')))
            collectDataset(ctx, join(dir, objset), pool, emit)
          collectPoolState(ctx, dir, pool, emit)
        }
      },
    }
  },
}

/** What read gives, or undefined when the file is not there (another ZFS version, a pool being exported). */
function ifPresent<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch (err) {
    if (isAbsent(err)) return undefined
    throw err
  }
}

function readOptional(ctx: CollectorContext, path: string): string | undefined {
  return ifPresent(() => ctx.fs.readText(path))
}

/** `<pool>/io`: a line of at least 12 column names starting with nread, and a line of their values. */
function collectPoolIo(ctx: CollectorContext, dir: string, pool: string, emit: EmitPoint): void {
  const path = join(dir, 'io')
  const text = readOptional(ctx, path)
  if (text === undefined) return
  const lines = text.split('\n')
  const header = lines.findIndex((line) => {
    const tokens = tokenize(line)
    return tokens.length >= 12 && tokens[0] === 'nread'
  })
  const columns = tokenize(lines[header] ?? '')
  const line = lines.slice(header + 1).find((l) => tokenize(l).length > 0)
  if (header === -1 || line === undefined) {
    ctx.problem(`${path}: no nread… column line followed by values`)
    return
  }
  const values = tokenize(line).map((token) => (UNSIGNED.test(token) ? Number(token) : undefined))
  if (values.length !== columns.length || values.some((v) => v === undefined)) {
    ctx.problem(`${path}: expected ${columns.length} numbers, got ${excerpt(line)}`)
    return
  }
  columns.forEach((column, i) => {
    emit(`node_zfs_zpool_${column.replaceAll('-', '_')}`, { zpool: pool }, values[i] ?? 0)
  })
}

/** `<pool>/objset-<id>`: a named kstat of one dataset, its name in the dataset_name row. */
function collectDataset(ctx: CollectorContext, path: string, pool: string, emit: EmitPoint): void {
  const text = readOptional(ctx, path)
  if (text === undefined) return
  const rows = kstatRows(text)
  const dataset = rows?.find((row) => row.name === 'dataset_name')?.data
  if (!rows || dataset === undefined) {
    ctx.problem(`${path}: no "name type data" line or no dataset_name`)
    return
  }
  for (const row of rows) {
    // node_exporter reads only the unsigned counters here.
    if (row.type !== UINT64) continue
    const value = kstatValue(row)
    const name = `node_zfs_zpool_dataset_${row.name.replaceAll('-', '_')}`
    if (value === undefined || !METRIC_NAME.test(name)) {
      ctx.problem(`${path}: unreadable kstat ${excerpt(row.line)}`)
      continue
    }
    emit(name, { dataset, zpool: pool }, value)
  }
}

/** `<pool>/state`: one word such as ONLINE; a state node_exporter does not know gives all zeros. */
function collectPoolState(ctx: CollectorContext, dir: string, pool: string, emit: EmitPoint): void {
  const text = readOptional(ctx, join(dir, 'state'))
  if (text === undefined) return
  const state = (text.split('\n', 1)[0] ?? '').trim().toLowerCase()
  for (const name of POOL_STATES)
    emit('node_zfs_zpool_state', { state: name, zpool: pool }, name === state ? 1 : 0)
}
