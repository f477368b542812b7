import type { MetricKind, MetricFamilyRecord, MetricsSample } from '../../schemas/src/records.ts'
import type { MetricType } from '../../schemas/src/metric-model.ts'
import { nodeMetricInfo } from '../../schemas/src/node-metrics/index.ts'
import {
  NodeFileReader,
  type CollectorPaths,
  type CollectorReader,
  type NodeCollector,
} from './collectors/node/collector.ts'
import { NODE_COLLECTORS } from './collectors/node/index.ts'

const KIND: Record<MetricType, MetricKind> = { counter: 'COUNTER', gauge: 'GAUGE', untyped: 'UNTYPED' }

export interface NodeCollectorsOptions {
  paths: CollectorPaths
  /** `<collector>.<option>` → value, already checked against the collectors' declarations. */
  options?: Readonly<Record<string, string>>
  /** A problem in a collector: a skipped line or device, or a read that failed. */
  onProblem: (collector: string, problem: string) => void
  collectors?: readonly NodeCollector[]
}

export interface NodeCollectorStats {
  parseErrors: Record<string, number>
  readErrors: Record<string, number>
}

/**
 * Runs the node_exporter collectors: one reader per collector, opened on first use and kept (its
 * open files and state live there), each collection grouped into one `metrics` record by name.
 */
export class NodeCollectors {
  readonly stats: NodeCollectorStats = { parseErrors: {}, readErrors: {} }
  private readonly byName: Map<string, NodeCollector>
  private readonly readers = new Map<string, { reader: CollectorReader; files: NodeFileReader }>()

  constructor(private readonly o: NodeCollectorsOptions) {
    this.byName = new Map((o.collectors ?? NODE_COLLECTORS).map((c) => [c.name, c]))
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  /** One collection of one collector, or undefined when it failed or this host lacks its input. */
  collect(name: string): MetricsSample | undefined {
    const collector = this.byName.get(name)
    if (!collector) throw new Error(`no collector ${name}`)
    const families = new Map<string, MetricFamilyRecord>()
    try {
      const result = this.reader(collector).collect((metric, labels, value) => {
        let family = families.get(metric)
        if (!family) {
          family = { name: metric, type: KIND[nodeMetricInfo(metric)?.type ?? 'untyped'], series: [] }
          families.set(metric, family)
        }
        family.series.push({ labels, value })
      })
      if (result === 'absent') return undefined
    } catch (err) {
      this.stats.readErrors[name] = (this.stats.readErrors[name] ?? 0) + 1
      this.o.onProblem(name, err instanceof Error ? err.message : String(err))
      return undefined
    }
    return { collector: name, metrics: [...families.values()] }
  }

  close(): void {
    for (const { reader, files } of this.readers.values()) {
      reader.close?.()
      files.close()
    }
    this.readers.clear()
  }

  private reader(collector: NodeCollector): CollectorReader {
    const open = this.readers.get(collector.name)
    if (open) return open.reader
    const options: Record<string, string> = {}
    for (const [key, option] of Object.entries(collector.options ?? {}))
      options[key] = this.o.options?.[`${collector.name}.${key}`] ?? option.default
    const files = new NodeFileReader()
    const reader = collector.open({
      paths: this.o.paths,
      options,
      fs: files,
      problem: (message) => {
        this.stats.parseErrors[collector.name] = (this.stats.parseErrors[collector.name] ?? 0) + 1
        this.o.onProblem(collector.name, message)
      },
    })
    this.readers.set(collector.name, { reader, files })
    return reader
  }
}

/** The collectors' options as `<collector>.<option>`, with their defaults and help, for --help and validation. */
export function collectorOptions(
  collectors: readonly NodeCollector[] = NODE_COLLECTORS,
): Map<string, { default: string; help: string }> {
  const out = new Map<string, { default: string; help: string }>()
  for (const c of collectors)
    for (const [key, option] of Object.entries(c.options ?? {})) out.set(`${c.name}.${key}`, option)
  return out
}
