import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { EmitPoint } from '#schemas/src/metric-model.ts'

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
  /** How a configured value is checked at start-up: a regular expression (the default) or true/false. */
  readonly kind?: 'regex' | 'flag'
}

export interface CollectorReader {
  /** Emit every point of one collection; 'absent' when this host does not have the collector's input. */
  collect(emit: EmitPoint): 'absent' | undefined
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
  return (
    code === 'ENOENT' ||
    code === 'ENOTDIR' ||
    code === 'ENOTSUP' ||
    code === 'EOPNOTSUPP' ||
    code === 'ENODEV'
  )
}

/**
 * Errors a read of an open file can end with while the file itself stays valid: a sysfs attribute
 * the device cannot show right now (`speed` of a link that is down: EINVAL; `phys_port_id` of a
 * virtual device: EOPNOTSUPP). Its descriptor is kept, so the next collection does not pay an open
 * and a close to get the same error. Any other error (ESRCH of an exited task, ENODEV of a removed
 * device) closes it, and the next read opens the path anew.
 */
const KEEP_OPEN_ON = new Set(['EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'ENODATA', 'EIO', 'EAGAIN', 'EBUSY'])

/** Errors that mean "no such entry (any more)": against a cached listing, the listing is stale. */
const GONE = new Set(['ENOENT', 'ENOTDIR', 'ENODEV', 'ENXIO'])

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
}

/**
 * A system call whose failure is an answer, not a bug (ENOENT of an absent input, EINVAL of an
 * attribute the device cannot show): Node's error is built without a stack trace, which is most of
 * what a failed call costs. The error (its code and message) is otherwise Node's own.
 */
function quietly<T>(call: () => T): T {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return call()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/**
 * How many files every reader together keeps open: a quarter of the process's descriptor limit (node
 * raises the soft limit to the hard one at start-up), between 64 and 4096. Past it (a host with
 * tens of thousands of threads for `processes`) further files are opened per read.
 */
export class OpenFileBudget {
  used = 0
  constructor(readonly limit: number) {}

  static forProcess(limitsFile = '/proc/self/limits'): OpenFileBudget {
    let soft = 1024
    try {
      const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(limitsFile, 'utf8'))
      if (m?.[1] !== undefined) soft = m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1])
    } catch {
      // No /proc/self/limits: the conservative default.
    }
    return new OpenFileBudget(Math.min(4096, Math.max(64, Math.floor(soft / 4))))
  }
}

let processBudget: OpenFileBudget | undefined
function sharedBudget(): OpenFileBudget {
  processBudget ??= OpenFileBudget.forProcess()
  return processBudget
}

export interface NodeFileReaderOptions {
  /**
   * Files under these folders are kept open between reads and re-read from offset 0: procfs and
   * sysfs generate a file anew on every such read, which saves an open and a close per file and
   * collection. Files elsewhere (os-release under the root, udev's database) are opened per read,
   * so a file replaced by a rename is read anew. Default: every file is kept open.
   */
  keepOpenUnder?: readonly string[]
  /**
   * Folders whose listings (readDir, and exists and isDir of paths below them) are kept for
   * `listingMaxAgeMs`: sysfs' device sets (interfaces, hwmon chips, thermal zones) rarely change, and
   * listing a device folder costs as much as reading a dozen of its files. A listing is re-read when
   * it is older, and at once when a read finds an entry it lists gone: the collection is then
   * stale (`endCollection` says so) and is taken again on fresh listings, so what is emitted is
   * what the folders hold; a new device shows up within `listingMaxAgeMs`. Default: none (every
   * call lists). Never for procfs, where the process list changes on every collection.
   */
  cacheListingsUnder?: readonly string[]
  listingMaxAgeMs?: number
  now?: () => number
  /** The bound on files kept open, shared by every reader of the process by default. */
  budget?: OpenFileBudget
}

/** How long a cached listing is trusted by default (NodeCollectors passes its own). */
export const LISTING_MAX_AGE_MS = 5_000

interface OpenFile {
  fd: number
  /** The collection that last read it (NodeFileReader.generation). */
  generation: number
}

const under = (path: string, roots: readonly string[]): boolean =>
  roots.some(
    (root) => root !== '' && (path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`)),
  )

export class NodeFileReader implements FileReader {
  private readonly open = new Map<string, OpenFile>()
  private buf = Buffer.allocUnsafe(16 * 1024)
  private readonly budget: OpenFileBudget
  private readonly keepOpenUnder: readonly string[] | undefined
  private readonly cacheUnder: readonly string[]
  private readonly maxAgeMs: number
  private readonly now: () => number
  private generation = 0
  /** Cached listings (sorted) and exists / isDir answers, and when they were first cached. */
  private readonly listings = new Map<string, readonly string[]>()
  private readonly listingSets = new Map<string, ReadonlySet<string>>()
  private readonly stats = new Map<string, 'dir' | 'other' | 'none'>()
  private cachedSince = 0
  private stale = false

  constructor(o: NodeFileReaderOptions = {}) {
    this.budget = o.budget ?? sharedBudget()
    this.keepOpenUnder = o.keepOpenUnder
    this.cacheUnder = o.cacheListingsUnder ?? []
    this.maxAgeMs = o.listingMaxAgeMs ?? LISTING_MAX_AGE_MS
    this.now = o.now ?? Date.now
  }

  /** Files kept open now (for tests and the bench). */
  get openFiles(): number {
    return this.open.size
  }

  readText(path: string): string {
    const kept = this.open.get(path)
    if (kept !== undefined) {
      try {
        const text = quietly(() => this.readAll(kept.fd))
        kept.generation = this.generation
        return text
      } catch (err) {
        if (KEEP_OPEN_ON.has(errorCode(err))) {
          kept.generation = this.generation
          throw err
        }
        // A descriptor that died with its file (ESRCH: the task exited, ENODEV: the device was
        // removed): the path is opened anew below, as if it had never been kept.
        this.forget(path, kept)
      }
    }
    let fd: number
    try {
      fd = quietly(() => openSync(path, 'r'))
    } catch (err) {
      this.noteFailure(path, err)
      throw err
    }
    const keep =
      this.budget.used < this.budget.limit &&
      (this.keepOpenUnder === undefined || under(path, this.keepOpenUnder))
    let keptNow = false
    try {
      const text = quietly(() => this.readAll(fd))
      keptNow = keep
      return text
    } catch (err) {
      keptNow = keep && KEEP_OPEN_ON.has(errorCode(err))
      this.noteFailure(path, err)
      throw err
    } finally {
      if (keptNow) {
        this.open.set(path, { fd, generation: this.generation })
        this.budget.used++
      } else closeSync(fd)
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
    if (!this.cacheable(path)) return this.list(path)
    let names = this.listings.get(path)
    if (names === undefined) {
      names = this.list(path)
      this.remember()
      this.listings.set(path, names)
      this.stats.set(path, 'dir')
    }
    // A copy: a collector may sort or splice what it gets.
    return names.slice()
  }

  private list(path: string): string[] {
    try {
      return quietly(() => readdirSync(path)).sort()
    } catch (err) {
      this.noteFailure(path, err)
      throw err
    }
  }

  readLink(path: string): string {
    try {
      return quietly(() => readlinkSync(path))
    } catch (err) {
      this.noteFailure(path, err)
      throw err
    }
  }

  exists(path: string): boolean {
    return this.stat(path) !== 'none'
  }

  isDir(path: string): boolean {
    return this.stat(path) === 'dir'
  }

  private stat(path: string): 'dir' | 'other' | 'none' {
    const cacheable = this.cacheable(path)
    const cached = cacheable ? this.stats.get(path) : undefined
    if (cached !== undefined) return cached
    const st = statSync(path, { throwIfNoEntry: false })
    const kind = st === undefined ? 'none' : st.isDirectory() ? 'dir' : 'other'
    if (cacheable) {
      this.remember()
      this.stats.set(path, kind)
    }
    return kind
  }

  /**
   * Start of a collection: listings older than their maximum age are dropped. NodeCollectors calls
   * it; a reader used on its own (tests) simply never expires them.
   */
  startCollection(): void {
    this.stale = false
    if (this.stats.size > 0 && this.now() - this.cachedSince >= this.maxAgeMs) this.dropListings()
  }

  /**
   * End of a collection: files it did not read are closed (an exited process, a removed device),
   * and whether it was stale, i.e. read through a cached listing that no longer holds. A stale
   * collection's listings are already dropped: taking it again lists afresh.
   */
  endCollection(): { stale: boolean } {
    for (const [path, file] of this.open) if (file.generation !== this.generation) this.forget(path, file)
    this.generation++
    const stale = this.stale
    this.stale = false
    return { stale }
  }

  close(): void {
    for (const [path, file] of this.open) this.forget(path, file)
    this.dropListings()
  }

  private forget(path: string, file: OpenFile): void {
    this.open.delete(path)
    this.budget.used--
    try {
      closeSync(file.fd)
    } catch {
      // Already closed: nothing is left to release.
    }
  }

  private cacheable(path: string): boolean {
    return this.cacheUnder.length > 0 && under(path, this.cacheUnder)
  }

  private remember(): void {
    if (this.stats.size === 0) this.cachedSince = this.now()
  }

  private dropListings(): void {
    this.listings.clear()
    this.listingSets.clear()
    this.stats.clear()
  }

  /**
   * A call failed because `path` is not there. When a cached listing of one of its folders names the
   * entry on the way to it, that folder is listed again: if it changed, the collection is stale and
   * every listing is dropped. (A path no listing names, a file probed by name, says nothing; nor does
   * a listed entry that fails for good, a dangling link: its folder lists the same.)
   */
  private noteFailure(path: string, err: unknown): void {
    if (this.listings.size === 0 || !GONE.has(errorCode(err)) || !this.cacheable(path)) return
    let child = path
    for (;;) {
      const slash = child.lastIndexOf('/')
      if (slash <= 0) return
      const dir = child.slice(0, slash)
      if (this.listingNames(dir)?.has(child.slice(slash + 1))) {
        let now: string[] | undefined
        try {
          now = quietly(() => readdirSync(dir)).sort()
        } catch {
          now = undefined
        }
        const before = this.listings.get(dir) ?? []
        if (now === undefined || now.length !== before.length || now.some((name, i) => name !== before[i])) {
          this.stale = true
          this.dropListings()
        }
        return
      }
      if (!this.cacheable(dir)) return
      child = dir
    }
  }

  private listingNames(dir: string): ReadonlySet<string> | undefined {
    let set = this.listingSets.get(dir)
    if (set === undefined) {
      const names = this.listings.get(dir)
      if (names === undefined) return undefined
      set = new Set(names)
      this.listingSets.set(dir, set)
    }
    return set
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
