import { closeSync, openSync, readdirSync, readlinkSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { EmitPoint } from '../../../../schemas/src/metric-model.ts'

/**
 * A node_exporter collector as the agent runs it: it reads its files under the configured roots and
 * emits points in node_exporter's names, labels and units. HELP and TYPE of every name it emits are
 * declared once in schemas/src/node-metrics/ (the query API reads them from there too); the agent
 * groups the points into a `metrics` record (schemas/avro/metrics.avsc), so a new collector needs no
 * schema, processor, storage or query change.
 *
 * Failure, as node_exporter's collectors behave: a collector whose input this host does not have
 * (no conntrack module, no hwmon chips) returns 'absent' and sends nothing; one that cannot read what
 * should be there throws, and the agent counts and logs it (once a minute) and sends the rest of the
 * sample; a line or one device that does not parse is reported through `ctx.problem` and skipped.
 */
export interface NodeCollector {
  /** node_exporter's collector name (`netstat`, `thermal_zone`), the name of its schedule entry. */
  readonly name: string
  /** One line for --help: what it reads. */
  readonly description: string
  /** On unless switched off, as in node_exporter (interrupts and processes are on here: the dashboards use them). */
  readonly defaultEnabled: boolean
  /** Inputs that change slowly (dmi, os, hwmon) are read on this interval at least, in ms. */
  readonly minDefaultIntervalMs?: number
  /**
   * node_exporter-style filters and settings, with node_exporter's defaults: `fields`,
   * `device-include`, `device-exclude`, `mount-points-exclude`, … Set with
   * `--collector-option <collector>.<option>=<value>`; a name not declared here is refused at start-up.
   */
  readonly options?: Readonly<Record<string, CollectorOption>>
  /** A fresh reader: state kept between collections (open files, cached listings) lives in it. */
  open(ctx: CollectorContext): CollectorReader
}

export interface CollectorOption {
  readonly default: string
  readonly help: string
}

export interface CollectorReader {
  /** Emit every point of one collection; 'absent' when this host does not have the collector's input. */
  collect(emit: EmitPoint): void | 'absent'
  close?(): void
}

/** node_exporter's --path.* settings. */
export interface CollectorPaths {
  readonly procfs: string
  readonly sysfs: string
  /** --path.rootfs: where the host's / is mounted ('' for the agent's own root). */
  readonly rootfs: string
  /** --path.udev.data: udev's database (`/run/udev/data`). */
  readonly udevData: string
}

export interface CollectorContext {
  readonly paths: CollectorPaths
  /** Every declared option, with its configured value or its default. */
  readonly options: Readonly<Record<string, string>>
  /** A line, a file or a device that could not be parsed and was skipped (counted and logged by the agent). */
  problem(message: string): void
  readonly fs: FileReader
}

/**
 * File access for collectors. Paths are absolute (join them onto ctx.paths). Errors are Node's own
 * (`code` ENOENT, EACCES, …) so a collector can tell "not on this host" from "broken".
 */
export interface FileReader {
  /** The whole file as UTF-8 text. A file read on every collection stays open and is re-read from offset 0. */
  readText(path: string): string
  /** Entry names of a directory, sorted. */
  readDir(path: string): string[]
  /** The target of a symbolic link, as stored. */
  readLink(path: string): string
  /** True when the path exists (following links). */
  exists(path: string): boolean
  /** True when the path is a directory (following links). */
  isDir(path: string): boolean
}

/** The absent-input errors: this host does not have the file (or the kernel refuses it as unsupported). */
export function isAbsent(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENODEV'
}

/**
 * Files are kept open only up to this many per reader: /proc and /sys regenerate a file on every
 * read from offset 0, and keeping them open saves the open and close of every collection; past the
 * bound (a host with thousands of hwmon or netclass attributes) files are opened per read.
 */
const MAX_OPEN_FILES = 64

export class NodeFileReader implements FileReader {
  private readonly open = new Map<string, number>()
  private buf = Buffer.allocUnsafe(16 * 1024)

  readText(path: string): string {
    const cached = this.open.get(path)
    const fd = cached ?? openSync(path, 'r')
    let ok = false
    try {
      const text = this.readAll(fd)
      ok = true
      return text
    } finally {
      if (ok && cached === undefined && this.open.size < MAX_OPEN_FILES) this.open.set(path, fd)
      else if (!ok || cached === undefined) {
        this.open.delete(path)
        closeSync(fd)
      }
    }
  }

  private readAll(fd: number): string {
    for (;;) {
      const n = readSync(fd, this.buf, 0, this.buf.length, 0)
      // A full buffer may mean a truncated read: grow and read again from the start.
      if (n < this.buf.length) return this.buf.toString('utf8', 0, n)
      this.buf = Buffer.allocUnsafe(this.buf.length * 2)
    }
  }

  readDir(path: string): string[] {
    return readdirSync(path).sort()
  }

  readLink(path: string): string {
    return readlinkSync(path)
  }

  exists(path: string): boolean {
    return statSync(path, { throwIfNoEntry: false }) !== undefined
  }

  isDir(path: string): boolean {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false
  }

  close(): void {
    for (const fd of this.open.values()) closeSync(fd)
    this.open.clear()
  }
}

/** `join` re-exported so collectors build paths one way. */
export { join }

/**
 * A node_exporter include/exclude pair: with include set only matching names pass, else names
 * matching exclude are dropped. Go's regexp MatchString is unanchored, so patterns are too.
 */
export function deviceFilter(include: string, exclude: string): (name: string) => boolean {
  if (include !== '') {
    const re = new RegExp(include)
    return (name) => re.test(name)
  }
  if (exclude !== '') {
    const re = new RegExp(exclude)
    return (name) => !re.test(name)
  }
  return () => true
}
