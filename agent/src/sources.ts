import { join } from 'node:path'
import type { Family, FamilyRecords, ProcFamily } from '#schemas/src/families.ts'
import { parseDiskstats } from './collectors/diskstats.ts'
import { parseMounts, statFilesystems, type StatfsFunction } from './collectors/filesystem.ts'
import { parseLoadavg } from './collectors/loadavg.ts'
import { parseMeminfo } from './collectors/meminfo.ts'
import { parseNetDev } from './collectors/netdev.ts'
import type { ProblemHandler } from './collectors/parse-util.ts'
import { PSI_RESOURCES, parsePressure, type PsiResourceName } from './collectors/pressure.ts'
import { parseStat } from './collectors/stat.ts'
import { parseVmstat } from './collectors/vmstat.ts'
import { AgentError } from './errors.ts'
import { ProcFile } from './source/proc-file.ts'

/**
 * Where one family comes from. `read` throws an AgentError when an input that should be there cannot
 * be read, returns undefined when this host simply does not have the family (a kernel without PSI),
 * and reports lines it cannot parse through onProblem. Files stay open between reads.
 */
export interface Source<F extends Family> {
  read(onProblem: ProblemHandler): FamilyRecords[F] | undefined
  close(): void
}

export type Sources = { [F in ProcFamily]: Source<F> }

export interface SourceOptions {
  /** Where the host's / is mounted (node_exporter's --path.rootfs); '' for the agent's own root. */
  rootfs?: string
  /** statfs(2), injectable for tests; fs.statfsSync by default. */
  statfs?: StatfsFunction
  /** /proc/vmstat fields to keep (default: node_exporter's default --collector.vmstat.fields). */
  vmstatFields?: RegExp
}

/** Every family's source under a procfs root. */
export function familySources(procfs: string, options: SourceOptions = {}): Sources {
  const file = (rel: string): ProcFile => new ProcFile(join(procfs, rel))
  return {
    cpu: fileSource(file('stat'), (t, p) => parseStat(t, 100, p)),
    memory: fileSource(file('meminfo'), (t, p) => parseMeminfo(t, p)),
    network: fileSource(file('net/dev'), (t, p) => parseNetDev(t, undefined, p)),
    disk: fileSource(file('diskstats'), (t, p) => parseDiskstats(t, undefined, p)),
    load: fileSource(file('loadavg'), (t, p) => parseLoadavg(t, p)),
    pressure: pressureSource(procfs),
    vmstat: fileSource(file('vmstat'), (t, p) => parseVmstat(t, p, options.vmstatFields)),
    filesystem: filesystemSource(procfs, options),
  }
}

/** One file, one parser; problems name the file. */
export function fileSource<F extends Family>(
  file: ProcFile,
  parse: (text: string, onProblem: ProblemHandler) => FamilyRecords[F],
): Source<F> {
  return {
    read: (onProblem) =>
      parse(file.read(), (problem) => {
        onProblem(`${file.path}: ${problem}`)
      }),
    close: () => {
      file.close()
    },
  }
}

/**
 * /proc/pressure/{cpu,memory,io}, three files kept open. The family is absent, not an error, when
 * the kernel has no PSI (no such files, Linux < 4.20 or CONFIG_PSI=n) or has it switched off
 * (psi=0: EOPNOTSUPP), as node_exporter's pressure collector treats both as "no data".
 */
export function pressureSource(procfs: string): Source<'pressure'> {
  const files = Object.fromEntries(
    PSI_RESOURCES.map((r) => [r, new ProcFile(join(procfs, 'pressure', r), 1024)]),
  ) as Record<PsiResourceName, ProcFile>
  const irq = new ProcFile(join(procfs, 'pressure', 'irq'), 1024)
  let hasIrq = true
  return {
    read: (onProblem) => {
      const texts: Partial<Record<PsiResourceName, string>> = {}
      for (const r of PSI_RESOURCES) {
        try {
          texts[r] = files[r].read()
        } catch (err) {
          if (isUnsupported(err)) return undefined
          throw err
        }
      }
      let irqText: string | undefined
      if (hasIrq) {
        try {
          irqText = irq.read()
        } catch (err) {
          // Kernels before 6.1 (or without IRQ time accounting) have no irq file: stop looking.
          if (!isUnsupported(err)) throw err
          hasIrq = false
          irq.close()
        }
      }
      return parsePressure({ ...(texts as Record<PsiResourceName, string>), irq: irqText }, (problem) => {
        onProblem(`${join(procfs, 'pressure')}: ${problem}`)
      })
    },
    close: () => {
      for (const r of PSI_RESOURCES) files[r].close()
      irq.close()
    },
  }
}

/**
 * The mount table of PID 1, as node_exporter reads it (`<procfs>/1/mounts`: the host's mounts
 * even when the agent runs in its own mount namespace with the host's PID namespace), falling back
 * for good to `<procfs>/mounts` when PID 1's is not visible (hidepid); then statfs of each mount.
 */
export function filesystemSource(procfs: string, options: SourceOptions = {}): Source<'filesystem'> {
  let mounts = new ProcFile(join(procfs, '1', 'mounts'))
  let fellBack = false
  const readTable = (): string => {
    try {
      return mounts.read()
    } catch (err) {
      if (fellBack || !isUnsupported(err)) throw err
      mounts.close()
      mounts = new ProcFile(join(procfs, 'mounts'))
      fellBack = true
      return mounts.read()
    }
  }
  return {
    read: (onProblem) => {
      const text = readTable()
      const entries = parseMounts(text, (problem) => {
        onProblem(`${mounts.path}: ${problem}`)
      })
      return statFilesystems(entries, { root: options.rootfs, statfs: options.statfs })
    },
    close: () => {
      mounts.close()
    },
  }
}

const ABSENT_CODES = new Set(['ENOENT', 'ENOTSUP', 'EOPNOTSUPP'])

/** A ProcFile failure because the file does not exist or the kernel refuses the read as unsupported. */
function isUnsupported(err: unknown): boolean {
  if (!(err instanceof AgentError)) return false
  const cause: unknown = err.cause
  return (
    typeof cause === 'object' &&
    cause !== null &&
    'code' in cause &&
    typeof cause.code === 'string' &&
    ABSENT_CODES.has(cause.code)
  )
}
