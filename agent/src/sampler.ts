import { PROC_FAMILIES, type ProcFamily, type Sample } from '../../schemas/src/families.ts'
import { AgentError } from './errors.ts'
import { familySources, type SourceOptions, type Source, type Sources } from './sources.ts'

export type SamplerOptions = SourceOptions

export interface SamplerStats {
  samples: number
  parseErrors: number
  readErrors: number
  /** The same errors per family, for the agent's self-metrics. */
  parseErrorsByFamily: Record<ProcFamily, number>
  readErrorsByFamily: Record<ProcFamily, number>
}

const zeroPerFamily = (): Record<ProcFamily, number> =>
  Object.fromEntries(PROC_FAMILIES.map((f) => [f, 0])) as Record<ProcFamily, number>

/**
 * Reads and parses one family at a time from files kept open. A file that cannot be read or a line
 * that does not parse never stops the agent: it is counted and reported through `onProblem`. A
 * family this host does not have (no PSI) gives no sample and no problem.
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

  constructor(
    procfs: string,
    private readonly onProblem: (family: ProcFamily, problem: string) => void,
    options: SamplerOptions = {},
  ) {
    this.src = familySources(procfs, options)
  }

  sample(family: ProcFamily): Sample | undefined {
    const source = this.src[family] as Source<ProcFamily>
    let data
    try {
      data = source.read((problem) => {
        this.stats.parseErrors++
        this.stats.parseErrorsByFamily[family]++
        this.onProblem(family, problem)
      })
    } catch (err) {
      this.stats.readErrors++
      this.stats.readErrorsByFamily[family]++
      this.onProblem(family, err instanceof AgentError ? err.message : String(err))
      return undefined
    }
    if (data === undefined) return undefined
    this.stats.samples++
    return { family, data } as Sample
  }

  close(): void {
    for (const s of Object.values(this.src)) s.close()
  }
}
