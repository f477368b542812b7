import { excerpt, parseDecimal, parseInteger, tokenize } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/** A CPU's directory under /sys/devices/system/cpu (not cpufreq, cpuidle, …). */
const CPU_DIR = /^cpu[0-9]/

/** One processor's block of /proc/cpuinfo, the fields node_exporter reads. */
interface CpuInfo {
  processor: string
  packageId: string
  coreId: string
  vendor: string
  family: string
  model: string
  modelName: string
  microcode: string
  stepping: string
  cacheSize: string
  /** Go's zero value when the block has no `cpu MHz` (most non-x86 kernels). */
  mhz: number
  flags: string[]
  bugs: string[]
}

/**
 * The parts of node_exporter's cpu collector that are not /proc/stat times (the `cpu` family has
 * those): /proc/cpuinfo per processor (its --collector.cpu.info, on here by default) with the first
 * processor's flags and bugs filtered by the include options, and from sysfs the thermal throttle
 * counters and the isolated CPUs.
 */
export const cpuInfo: NodeCollector = {
  name: 'cpu_info',
  description: 'CPU model, flags, throttling and isolation (/proc/cpuinfo, /sys/devices/system/cpu)',
  defaultEnabled: true,
  options: {
    info: {
      default: 'true',
      kind: 'flag',
      help: 'emit node_cpu_info and node_cpu_frequency_hertz from /proc/cpuinfo (node_exporter --collector.cpu.info)',
    },
    'flags-include': {
      default: '',
      help: 'regular expression of the first CPU’s flags to emit as node_cpu_flag_info; empty emits none',
    },
    'bugs-include': {
      default: '',
      help: 'regular expression of the first CPU’s bugs to emit as node_cpu_bug_info; empty emits none',
    },
  },
  open: (ctx) => {
    const info = ctx.options.info !== 'false'
    const flagsInclude = ctx.options['flags-include'] ? new RegExp(ctx.options['flags-include']) : undefined
    const bugsInclude = ctx.options['bugs-include'] ? new RegExp(ctx.options['bugs-include']) : undefined
    const cpuinfoPath = join(ctx.paths.procfs, 'cpuinfo')
    const cpuBase = join(ctx.paths.sysfs, 'devices/system/cpu')

    /** A whole decimal in a sysfs file; undefined when the file is missing or holds the kernel's -1. */
    const readCount = (path: string): number | undefined => {
      let text: string
      try {
        text = ctx.fs.readText(path).trim()
      } catch (err) {
        if (isAbsent(err)) return undefined
        throw err
      }
      const value = parseInteger(text)
      if (value === undefined) ctx.problem(`${path}: not a number: ${excerpt(text)}`)
      return value !== undefined && value >= 0 ? value : undefined
    }

    return {
      collect: (emit) => {
        let found = false
        if (info || flagsInclude || bugsInclude) {
          let text: string | undefined
          try {
            text = ctx.fs.readText(cpuinfoPath)
          } catch (err) {
            if (!isAbsent(err)) throw err
          }
          if (text !== undefined) {
            found = true
            const cpus = parseCpuinfo(text, (p) => {
              ctx.problem(`${cpuinfoPath}: ${p}`)
            })
            if (info) {
              for (const cpu of cpus) {
                emit(
                  'node_cpu_info',
                  {
                    package: cpu.packageId,
                    core: cpu.coreId,
                    cpu: cpu.processor,
                    vendor: cpu.vendor,
                    family: cpu.family,
                    model: cpu.model,
                    model_name: cpu.modelName,
                    microcode: cpu.microcode,
                    stepping: cpu.stepping,
                    cachesize: cpu.cacheSize,
                  },
                  1,
                )
                emit(
                  'node_cpu_frequency_hertz',
                  { package: cpu.packageId, core: cpu.coreId, cpu: cpu.processor },
                  cpu.mhz * 1e6,
                )
              }
            }
            const first = cpus[0]
            if (first && flagsInclude) {
              for (const flag of first.flags)
                if (flagsInclude.test(flag)) emit('node_cpu_flag_info', { flag }, 1)
            }
            if (first && bugsInclude) {
              for (const bug of first.bugs) if (bugsInclude.test(bug)) emit('node_cpu_bug_info', { bug }, 1)
            }
          }
        }

        let cpuDirs: string[]
        try {
          cpuDirs = ctx.fs.readDir(cpuBase).filter((name) => CPU_DIR.test(name))
        } catch (err) {
          if (!isAbsent(err)) throw err
          return found ? undefined : 'absent'
        }

        // Each counter is per core or per package, repeated in the directory of every thread of it.
        const packageThrottles = new Map<number, number>()
        const coreThrottles = new Map<number, Map<number, number>>()
        for (const name of cpuDirs) {
          const dir = join(cpuBase, name)
          const packageId = readCount(join(dir, 'topology/physical_package_id'))
          if (packageId === undefined) continue
          const coreId = readCount(join(dir, 'topology/core_id'))
          if (coreId === undefined) continue
          let cores = coreThrottles.get(packageId)
          if (!cores) {
            cores = new Map<number, number>()
            coreThrottles.set(packageId, cores)
          }
          if (!cores.has(coreId)) {
            const count = readCount(join(dir, 'thermal_throttle/core_throttle_count'))
            if (count !== undefined) cores.set(coreId, count)
          }
          if (!packageThrottles.has(packageId)) {
            const count = readCount(join(dir, 'thermal_throttle/package_throttle_count'))
            if (count !== undefined) packageThrottles.set(packageId, count)
          }
        }
        for (const [packageId, count] of packageThrottles) {
          emit('node_cpu_package_throttles_total', { package: String(packageId) }, count)
        }
        for (const [packageId, cores] of coreThrottles) {
          for (const [coreId, count] of cores) {
            emit('node_cpu_core_throttles_total', { package: String(packageId), core: String(coreId) }, count)
          }
        }

        const isolatedPath = join(cpuBase, 'isolated')
        let isolated: string
        try {
          isolated = ctx.fs.readText(isolatedPath)
        } catch (err) {
          if (isAbsent(err)) return
          throw err
        }
        const cpus = parseCpuList(isolated)
        if (cpus === undefined) ctx.problem(`${isolatedPath}: not a CPU list: ${excerpt(isolated.trim())}`)
        else for (const cpu of cpus) emit('node_cpu_isolated', { cpu: String(cpu) }, 1)
      },
    }
  },
}

/**
 * /proc/cpuinfo as prometheus/procfs reads it: `key<tabs>: value` lines, a new processor at each
 * `processor` line, values kept verbatim. ARM kernels list the flags as `Features`. A processor whose
 * number does not parse is reported and its block skipped; an unparsable `cpu MHz` is reported and
 * left at 0.
 */
export function parseCpuinfo(text: string, problem: (message: string) => void): CpuInfo[] {
  const cpus: CpuInfo[] = []
  let cpu: CpuInfo | undefined
  for (const line of text.split('\n')) {
    const sep = line.indexOf(': ')
    if (sep === -1) continue
    const key = line.slice(0, sep).trim()
    const value = line.slice(sep + 2)
    if (key === 'processor') {
      const n = parseInteger(value)
      cpu = undefined
      if (n === undefined || n < 0) {
        problem(`processor number ${excerpt(value)} is not a number; its block is skipped`)
        continue
      }
      cpu = {
        processor: String(n),
        packageId: '',
        coreId: '',
        vendor: '',
        family: '',
        model: '',
        modelName: '',
        microcode: '',
        stepping: '',
        cacheSize: '',
        mhz: 0,
        flags: [],
        bugs: [],
      }
      cpus.push(cpu)
      continue
    }
    if (!cpu) continue
    switch (key) {
      case 'vendor':
      case 'vendor_id':
        cpu.vendor = value
        break
      case 'cpu family':
        cpu.family = value
        break
      case 'model':
        cpu.model = value
        break
      case 'model name':
        cpu.modelName = value
        break
      case 'stepping':
        cpu.stepping = value
        break
      case 'microcode':
        cpu.microcode = value
        break
      case 'cpu MHz': {
        const mhz = parseDecimal(value.trim())
        if (mhz === undefined) problem(`cpu ${cpu.processor}: cpu MHz ${excerpt(value)} is not a number`)
        else cpu.mhz = mhz
        break
      }
      case 'cache size':
        cpu.cacheSize = value
        break
      case 'physical id':
        cpu.packageId = value
        break
      case 'core id':
        cpu.coreId = value
        break
      case 'flags':
      case 'Features':
        cpu.flags = tokenize(value)
        break
      case 'bugs':
        cpu.bugs = tokenize(value)
        break
    }
  }
  return cpus
}

/** A kernel CPU list such as `1,3-5,9` (empty: none), or undefined when it is not one. */
export function parseCpuList(text: string): number[] | undefined {
  const cpus: number[] = []
  for (const part of text.trim().split(',')) {
    if (part === '') continue
    const [from, to, extra] = part.split('-').map(parseInteger)
    if (from === undefined || extra !== undefined) return undefined
    if (to === undefined && part.includes('-')) return undefined
    for (let cpu = from; cpu <= (to ?? from); cpu++) cpus.push(cpu)
  }
  return cpus
}
