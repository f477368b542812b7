import { join } from 'node:path'
import type { Family, FamilyRecords, Sample } from '../../schemas/src/families.ts'
import { parseDiskstats } from './collectors/diskstats.ts'
import { parseLoadavg } from './collectors/loadavg.ts'
import { parseMeminfo } from './collectors/meminfo.ts'
import { parseNetDev } from './collectors/netdev.ts'
import { parseStat } from './collectors/stat.ts'
import { AgentError } from './errors.ts'
import { ProcFile } from './source/proc-file.ts'

type Parser<F extends Family> = (text: string, onProblem: (problem: string) => void) => FamilyRecords[F]

interface Source<F extends Family> {
  file: ProcFile
  parse: Parser<F>
}

/** Where each family comes from under the procfs root, and how it is parsed. */
function sources(procfs: string): { [F in Family]: Source<F> } {
  const file = (rel: string): ProcFile => new ProcFile(join(procfs, rel))
  return {
    cpu: { file: file('stat'), parse: (t, p) => parseStat(t, 100, p) },
    memory: { file: file('meminfo'), parse: (t, p) => parseMeminfo(t, p) },
    network: { file: file('net/dev'), parse: (t, p) => parseNetDev(t, undefined, p) },
    disk: { file: file('diskstats'), parse: (t, p) => parseDiskstats(t, undefined, p) },
    load: { file: file('loadavg'), parse: (t, p) => parseLoadavg(t, p) },
  }
}

export interface SamplerStats {
  samples: number
  parseErrors: number
  readErrors: number
}

/**
 * Reads and parses one family at a time from files kept open. A file that cannot be read or a line
 * that does not parse never stops the agent: it is counted and reported through `onProblem`.
 */
export class Sampler {
  readonly stats: SamplerStats = { samples: 0, parseErrors: 0, readErrors: 0 }
  private readonly src: { [F in Family]: Source<F> }

  constructor(
    procfs: string,
    private readonly onProblem: (family: Family, problem: string) => void,
  ) {
    this.src = sources(procfs)
  }

  sample(family: Family): Sample | undefined {
    const source = this.src[family] as Source<Family>
    let text: string
    try {
      text = source.file.read()
    } catch (err) {
      this.stats.readErrors++
      this.onProblem(family, err instanceof AgentError ? err.message : String(err))
      return undefined
    }
    const data = source.parse(text, (problem) => {
      this.stats.parseErrors++
      this.onProblem(family, `${source.file.path}: ${problem}`)
    })
    this.stats.samples++
    return { family, data } as Sample
  }

  close(): void {
    for (const s of Object.values(this.src)) s.file.close()
  }
}
