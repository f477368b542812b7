import { excerpt, parseInteger } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'
import { parseCpuList } from './cpu_info.ts'

/** A CPU's directory under /sys/devices/system/cpu (not cpufreq, cpuidle, …). */
const CPU_DIR = /^cpu[0-9]/

/** cpufreq attributes in kHz and the metric each becomes, in hertz. */
const FREQUENCIES: readonly (readonly [file: string, metric: string])[] = [
  ['cpuinfo_min_freq', 'node_cpu_frequency_min_hertz'],
  ['cpuinfo_max_freq', 'node_cpu_frequency_max_hertz'],
  ['scaling_cur_freq', 'node_cpu_scaling_frequency_hertz'],
  ['scaling_min_freq', 'node_cpu_scaling_frequency_min_hertz'],
  ['scaling_max_freq', 'node_cpu_scaling_frequency_max_hertz'],
]

/**
 * /sys/devices/system/cpu/cpu<N>/cpufreq of every online CPU, as node_exporter's cpufreq collector
 * reports it: frequency limits and the scaled frequency in hertz, and the governors. node_exporter
 * also prints sysfs cpuinfo_cur_freq (root-only on most kernels) as node_cpu_frequency_hertz{cpu},
 * the name its cpu collector uses for the /proc/cpuinfo frequency with other labels and HELP; the
 * agent has that name from the cpu_info collector only.
 */
export const cpufreq: NodeCollector = {
  name: 'cpufreq',
  description: 'CPU frequency scaling (/sys/devices/system/cpu/cpu*/cpufreq)',
  defaultEnabled: true,
  open: (ctx) => {
    const base = join(ctx.paths.sysfs, 'devices/system/cpu')

    /** A file's trimmed text, or undefined when it is missing or only root may read it. */
    const read = (path: string): string | undefined => {
      try {
        return ctx.fs.readText(path).trim()
      } catch (err) {
        if (isAbsent(err) || (err as NodeJS.ErrnoException).code === 'EACCES') return undefined
        throw err
      }
    }

    return {
      collect: (emit) => {
        let cpus: string[]
        try {
          cpus = ctx.fs.readDir(base).filter((name) => CPU_DIR.test(name))
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        const offlinePath = join(base, 'offline')
        const offlineList = read(offlinePath) ?? ''
        const offlineCpus = parseCpuList(offlineList)
        if (offlineCpus === undefined) ctx.problem(`${offlinePath}: not a CPU list: ${excerpt(offlineList)}`)
        const offline = new Set(offlineCpus?.map(String))
        let found = false
        for (const name of cpus) {
          const cpu = name.slice('cpu'.length)
          if (offline.has(cpu)) continue
          const dir = join(base, name, 'cpufreq')
          if (!ctx.fs.isDir(dir)) continue
          found = true
          for (const [file, metric] of FREQUENCIES) {
            const text = read(join(dir, file))
            if (text === undefined) continue
            const khz = parseInteger(text)
            if (khz === undefined || khz < 0)
              ctx.problem(`${join(dir, file)}: not a frequency: ${excerpt(text)}`)
            else emit(metric, { cpu }, khz * 1000)
          }
          const governor = read(join(dir, 'scaling_governor')) ?? ''
          if (governor === '') continue
          for (const available of (read(join(dir, 'scaling_available_governors')) ?? '').split(' ')) {
            emit('node_cpu_scaling_governor', { cpu, governor: available }, available === governor ? 1 : 0)
          }
        }
        return found ? undefined : 'absent'
      },
    }
  },
}
