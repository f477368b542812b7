import { PROC_FAMILIES, type ProcFamily, type Sample } from '#schemas/src/families.ts'
import { AgentError } from './errors.ts'
import { NodeCollectors } from './node-collectors.ts'
import { familySources, type SourceOptions, type Source, type Sources } from './sources.ts'

export interface SamplerOptions extends SourceOptions {
  /** node_exporter's --path.sysfs (default /sys). */
  sysfs?: string
  /** node_exporter's --path.udev.data (default /run/udev/data). */
  udevData?: string
  /** `<collector>.<option>` → value for the node_exporter collectors. */
  collectorOptions?: Readonly<Record<string, string>>
}

export interface SamplerStats {
  samples: number
  parseErrors: number
  readErrors: number
  /** The same errors per family or collector, for the agent's self-metrics. */
  parseErrorsByFamily: Record<string, number>
  readErrorsByFamily: Record<string, number>
}

const zeroPerFamily = (): Record<string, number> => Object.fromEntries(PROC_FAMILIES.map((f) => [f, 0]))

const PROC_FAMILY_SET = new Set<string>(PROC_FAMILIES)

/**
 * Reads and parses one family or collector at a time from files kept open. A file that cannot be
 * read or a line that does not parse never stops the agent: it is counted and reported through
 * `onProblem`. A family this host does not have (no PSI, no hwmon chip) gives no sample and no problem.
 */
export class Sampler {
  readonly stats: SamplerStats = {
    samples: 0,
    parseErrors: 0,
    readErrors: 0,
    parseErrorsByFamily: zeroPerFamily(),
    readErrorsByFamily: zeroPerFamily(),
  }
  private readonly src: Sources
  private readonly collectors: NodeCollectors

  constructor(
    procfs: string,
    private readonly onProblem: (family: string, problem: string) => void,
    options: SamplerOptions = {},
  ) {
    this.src = familySources(procfs, options)
    this.collectors = new NodeCollectors({
      paths: {
        procfs,
        sysfs: options.sysfs ?? '/sys',
        rootfs: options.rootfs ?? '',
        udevData: options.udevData ?? '/run/udev/data',
      },
      options: options.collectorOptions ?? {},
      onProblem: (collector, problem) => {
        this.onProblem(collector, problem)
      },
      onParseError: (collector) => {
        this.count('parse', collector)
      },
      onReadError: (collector) => {
        this.count('read', collector)
      },
    })
  }

  /** A typed family (cpu, memory, …) or a node_exporter collector (netstat, hwmon, …) by name. */
  sample(name: string): Sample | undefined {
    if (!PROC_FAMILY_SET.has(name)) {
      const data = this.collectors.collect(name)
      if (data === undefined) return undefined
      this.stats.samples++
      return { family: 'metrics', data }
    }
    const family = name as ProcFamily
    const source = this.src[family] as Source<ProcFamily>
    let data
    try {
      data = source.read((problem) => {
        this.count('parse', family)
        this.onProblem(family, problem)
      })
    } catch (err) {
      this.count('read', family)
      this.onProblem(family, err instanceof AgentError ? err.message : String(err))
      return undefined
    }
    if (data === undefined) return undefined
    this.stats.samples++
    return { family, data } as Sample
  }

  close(): void {
    for (const s of Object.values(this.src)) s.close()
    this.collectors.close()
  }

  private count(kind: 'parse' | 'read', name: string): void {
    if (kind === 'parse') {
      this.stats.parseErrors++
      this.stats.parseErrorsByFamily[name] = (this.stats.parseErrorsByFamily[name] ?? 0) + 1
    } else {
      this.stats.readErrors++
      this.stats.readErrorsByFamily[name] = (this.stats.readErrorsByFamily[name] ?? 0) + 1
    }
  }
}
