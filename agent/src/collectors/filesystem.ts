import { statfsSync } from 'node:fs'
import { join } from 'node:path'
import type { FilesystemSample, FilesystemStats } from '#schemas/src/records.ts'
import { excerpt, forEachLine, isBlank, matches, tokenize, type ProblemHandler } from './parse-util.ts'
import { errorMessage } from '#platform/errors.ts'

/**
 * The defaults of --collector.filesystem.mount-points-exclude and --collector.filesystem.fs-types-exclude
 * of node_exporter 1.5 as Debian ships it (prometheus-node-exporter 1.5.0, `--help`), the reference the
 * agent is compared against: kernel and container-runtime pseudo filesystems, and the mounts below
 * /dev, /proc, /run, /sys, /mnt, /media and the container storage folders. Upstream 1.5
 * (collector/filesystem_linux.go, `defMountPointsExcluded`) excludes only /run/credentials/… of /run
 * and keeps /mnt and /media; Debian's package widens it.
 */
export const DEFAULT_MOUNT_POINTS_EXCLUDE =
  /^\/(dev|proc|run|sys|mnt|media|var\/lib\/docker\/.+|var\/lib\/containers\/storage\/.+)($|\/)/
export const DEFAULT_FS_TYPES_EXCLUDE =
  /^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$/

/** One line of the mount table (/proc/<pid>/mounts, fstab(5) layout). */
export interface MountEntry {
  device: string
  /** Octal escapes (`\040` for a space …) decoded. */
  mountpoint: string
  fstype: string
  options: string
}

/** The statfs(2) fields the record keeps; node's fs.StatFs has them under these names. */
export interface StatfsResult {
  bsize: number
  blocks: number
  bfree: number
  bavail: number
  files: number
  ffree: number
}

/** statfs(2) of a path; throws when the call fails. */
export type StatfsFunction = (path: string) => StatfsResult

export interface FilesystemOptions {
  /**
   * Where the host's / is mounted, as node_exporter's --path.rootfs: mount points are statfs'd
   * below it and reported without it. '' or '/' (the default) for the agent's own root.
   */
  root?: string
  /** Mount points left out; undefined → DEFAULT_MOUNT_POINTS_EXCLUDE, null → none. */
  mountPointsExclude?: RegExp | null
  /** Filesystem types left out; undefined → DEFAULT_FS_TYPES_EXCLUDE, null → none. */
  fsTypesExclude?: RegExp | null
  /** Injectable for tests; fs.statfsSync by default. */
  statfs?: StatfsFunction
}

/** The kernel escapes these four characters in mount paths as three octal digits (fs/proc_namespace.c). */
const OCTAL_ESCAPE = /\\(011|012|040|134)/g

function unescapeMountPath(path: string): string {
  return path.replace(OCTAL_ESCAPE, (_m, code: string) => String.fromCharCode(parseInt(code, 8)))
}

/**
 * A mount table → its entries in file order. A line of fewer than four fields is left out and
 * reported (node_exporter fails the whole scrape on one; a sample should not be lost for it).
 */
export function parseMounts(text: string, onError?: ProblemHandler): MountEntry[] {
  const mounts: MountEntry[] = []
  forEachLine(text, (start, end) => {
    if (isBlank(text, start, end)) return
    const [device, mountpoint, fstype, options] = tokenize(text, start, end)
    if (device === undefined || mountpoint === undefined || fstype === undefined || options === undefined) {
      onError?.(`mounts: unreadable line ${excerpt(text.slice(start, end))}`)
      return
    }
    mounts.push({ device, mountpoint: unescapeMountPath(mountpoint), fstype, options })
  })
  if (mounts.length === 0) onError?.('mounts: no mount points')
  return mounts
}

/** '' and '/' mean no prefix; a trailing slash is dropped so '/host/' and '/host' agree. */
function normalizeRoot(root: string | undefined): string {
  return (root ?? '').replace(/\/+$/, '')
}

/**
 * node_exporter's rootfsStripPrefix, but only at a path boundary: with root /host, /host/boot is
 * /boot and /host is /, while /hostdata stays /hostdata (a plain string prefix would make it data).
 */
function stripRoot(mountpoint: string, root: string): string {
  if (root === '') return mountpoint
  if (mountpoint === root) return '/'
  return mountpoint.startsWith(`${root}/`) ? mountpoint.slice(root.length) : mountpoint
}

/**
 * statfs(2) of every mount that passes the filters → FilesystemSample, like node_exporter 1.5's
 * filesystem collector: read-only from the `ro` mount option (not statfs flags), a failing statfs
 * kept as an entry with its error and no counters, one entry per device, mount point and type
 * (the first; /proc/mounts repeats over-mounted and bind-mounted entries).
 */
export function statFilesystems(
  mounts: readonly MountEntry[],
  options: FilesystemOptions = {},
): FilesystemSample {
  const root = normalizeRoot(options.root)
  const mountExclude =
    options.mountPointsExclude === undefined ? DEFAULT_MOUNT_POINTS_EXCLUDE : options.mountPointsExclude
  const typeExclude = options.fsTypesExclude === undefined ? DEFAULT_FS_TYPES_EXCLUDE : options.fsTypesExclude
  const statfs = options.statfs ?? statfsSync
  const seen = new Set<string>()
  const filesystems: FilesystemStats[] = []
  for (const mount of mounts) {
    const mountpoint = stripRoot(mount.mountpoint, root)
    if (mountExclude !== null && matches(mountExclude, mountpoint)) continue
    if (typeExclude !== null && matches(typeExclude, mount.fstype)) continue
    const key = `${mount.device}\u0000${mountpoint}\u0000${mount.fstype}`
    if (seen.has(key)) continue
    seen.add(key)
    const entry: FilesystemStats = {
      device: mount.device,
      mountpoint,
      fstype: mount.fstype,
      readonly: mount.options.split(',').includes('ro'),
      error: null,
      statfs: null,
    }
    try {
      // filepath.Join in node_exporter: /host and / give /host, not /host/.
      const s = statfs(root === '' ? mountpoint : mountpoint === '/' ? root : join(root, mountpoint))
      entry.statfs = {
        block_size: s.bsize,
        blocks: s.blocks,
        blocks_free: s.bfree,
        blocks_avail: s.bavail,
        files: s.files,
        files_free: s.ffree,
      }
    } catch (err) {
      entry.error = errorMessage(err)
    }
    filesystems.push(entry)
  }
  return { filesystems }
}
