import type { MetricKind, MetricFamilyRecord, MetricsSample } from '#schemas/src/records.ts'
import type { MetricType } from '#schemas/src/metric-model.ts'
import { nodeMetricInfo } from '#schemas/src/node-metrics/index.ts'
import {
  NodeFileReader,
  type CollectorOption,
  type CollectorPaths,
  type CollectorReader,
  type NodeCollector,
} from './collectors/node/collector.ts'
import { NODE_COLLECTORS } from './collectors/node/index.ts'

const KIND: Record<MetricType, MetricKind> = { counter: 'COUNTER', gauge: 'GAUGE', untyped: 'UNTYPED' }
/** Metric name → its kind, looked up in the catalogue once per name rather than once per collection. */
const kinds = new Map<string, MetricKind>()
function kindOf(metric: string): MetricKind {
  let kind = kinds.get(metric)
  if (kind === undefined) {
    kind = KIND[nodeMetricInfo(metric)?.type ?? 'untyped']
    kinds.set(metric, kind)
  }
  return kind
}

/**
 * A collector whose input this host lacks ('absent': no conntrack module, no hwmon chip) is tried
 * again after this long rather than on every tick: each try costs a failed system call or two, at
 * every rate. An input that appears (a module loaded) is collected within this time.
 */
export const ABSENT_RECHECK_MS = 10_000

export interface NodeCollectorsOptions {
  paths: CollectorPaths
  /** `<collector>.<option>` → value, already checked against the collectors' declarations. */
  options?: Readonly<Record<string, string>>
  /** A problem in a collector: a skipped line or device, or a read that failed. */
  onProblem: (collector: string, problem: string) => void
  /** Counted apart: a line or device skipped, and a collection that failed. */
  onParseError?: (collector: string) => void
  onReadError?: (collector: string) => void
  collectors?: readonly NodeCollector[]
  /** The clock of the absent back-off and of the listing cache (tests). */
  now?: () => number
}

/**
 * Runs the node_exporter collectors: one reader per collector, opened on first use and kept (its
 * open files, cached sysfs listings and state live there), each collection grouped into one
 * `metrics` record by name. A collection read through a listing that turned out stale (a device
 * removed since it was cached) is taken again on fresh listings, so the record is what the
 * folders hold now.
 */
export class NodeCollectors {
  private readonly byName: Map<string, NodeCollector>
  private readonly readers = new Map<
    string,
    { reader: CollectorReader; files: NodeFileReader; problems: string[]; absentUntil: number }
  >()
  private readonly now: () => number

  constructor(private readonly o: NodeCollectorsOptions) {
    this.byName = new Map((o.collectors ?? NODE_COLLECTORS).map((c) => [c.name, c]))
    this.now = o.now ?? Date.now
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  /** One collection of one collector, or undefined when it failed or this host lacks its input. */
  collect(name: string): MetricsSample | undefined {
    const collector = this.byName.get(name)
    if (!collector) throw new Error(`no collector ${name}`)
    let open
    try {
      open = this.reader(collector)
    } catch (err) {
      // A collector that refuses its options at open: a failed collection, tried again next time.
      this.failed(name, err)
      return undefined
    }
    if (open.absentUntil > 0) {
      if (this.now() < open.absentUntil) return undefined
      open.absentUntil = 0
    }
    let families = new Map<string, MetricFamilyRecord>()
    const emit = (metric: string, labels: Record<string, string>, value: number): void => {
      let family = families.get(metric)
      if (!family) {
        family = { name: metric, type: kindOf(metric), series: [] }
        families.set(metric, family)
      }
      family.series.push({ labels, value })
    }
    let result: 'absent' | undefined
    let failure: unknown
    for (let attempt = 0; ; attempt++) {
      open.files.startCollection()
      try {
        result = open.reader.collect(emit)
      } catch (err) {
        failure = err ?? new Error('collection failed')
      }
      // Taken again once when a cached listing no longer held: what it emitted may name a removed device.
      if (!open.files.endCollection().stale || attempt > 0) break
      families = new Map()
      open.problems.length = 0
      failure = undefined
    }
    for (const problem of open.problems) {
      this.o.onParseError?.(name)
      this.o.onProblem(name, problem)
    }
    open.problems.length = 0
    if (failure !== undefined) {
      this.failed(name, failure)
      return undefined
    }
    if (result === 'absent') {
      open.absentUntil = this.now() + ABSENT_RECHECK_MS
      return undefined
    }
    return { collector: name, metrics: [...families.values()] }
  }

  private failed(name: string, err: unknown): void {
    this.o.onReadError?.(name)
    this.o.onProblem(name, err instanceof Error ? err.message : String(err))
  }

  close(): void {
    for (const { reader, files } of this.readers.values()) {
      reader.close?.()
      files.close()
    }
    this.readers.clear()
  }

  private reader(collector: NodeCollector): {
    reader: CollectorReader
    files: NodeFileReader
    problems: string[]
    absentUntil: number
  } {
    const open = this.readers.get(collector.name)
    if (open) return open
    const options: Record<string, string> = {}
    for (const [key, option] of Object.entries(collector.options ?? {}))
      options[key] = this.o.options?.[`${collector.name}.${key}`] ?? option.default
    const { procfs, sysfs } = this.o.paths
    const files = new NodeFileReader({
      // procfs and sysfs regenerate a file on every read from offset 0; other files (os-release,
      // udev's database) may be replaced by a rename and are opened per read.
      keepOpenUnder: [procfs, sysfs],
      // sysfs' device sets rarely change; procfs' process list changes all the time.
      cacheListingsUnder:
        sysfs === '' || sysfs === '/' || procfs === sysfs || procfs.startsWith(`${sysfs}/`) ? [] : [sysfs],
      now: this.now,
    })
    const problems: string[] = []
    const reader = collector.open({
      paths: this.o.paths,
      options,
      fs: files,
      // Reported once the collection is kept (a stale one is taken again).
      problem: (message) => problems.push(message),
    })
    const entry = { reader, files, problems, absentUntil: 0 }
    this.readers.set(collector.name, entry)
    return entry
  }
}

/** The collectors' options as `<collector>.<option>`, with their defaults and help, for --help and validation. */
export function collectorOptions(
  collectors: readonly NodeCollector[] = NODE_COLLECTORS,
): Map<string, CollectorOption> {
  const out = new Map<string, CollectorOption>()
  for (const c of collectors)
    for (const [key, option] of Object.entries(c.options ?? {})) out.set(`${c.name}.${key}`, option)
  return out
}
