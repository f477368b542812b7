import { excerpt, forEachLine, parseDecimal, tokenize } from '../parse-util.ts'
import { deviceFilter, isAbsent, join, type NodeCollector } from './collector.ts'

/** strconv.Atoi's syntax: a numbered IRQ line names its chip and then its devices. */
const IRQ_NUMBER = /^[+-]?\d+$/

interface Interrupt {
  info: string
  devices: string
  values: string[]
}

/**
 * /proc/interrupts, as node_exporter's interrupts collector: one counter per interrupt and CPU,
 * labelled with the interrupt's number or name (`type`), its chip and kind or description (`info`)
 * and, for numbered IRQs, the devices on it. Off by default in node_exporter; on here because Node
 * Exporter Full charts it, every 10 s at most because it is a series per interrupt and CPU (thousands
 * on a large host) whose rates are read over minutes.
 */
export const interrupts: NodeCollector = {
  name: 'interrupts',
  description: 'interrupts served per CPU, by IRQ and kind (/proc/interrupts)',
  defaultEnabled: true,
  options: {
    'name-include': {
      default: '',
      help: 'Regexp of interrupts name to include (mutually exclusive to name-exclude); matched against `<type>;<info>;<devices>`.',
    },
    'name-exclude': {
      default: '',
      help: 'Regexp of interrupts name to exclude (mutually exclusive to name-include); matched against `<type>;<info>;<devices>`.',
    },
    'include-zeros': {
      default: 'true',
      kind: 'flag',
      help: 'Include interrupts that have a zero value (true or false).',
    },
  },
  open: (ctx) => {
    const path = join(ctx.paths.procfs, 'interrupts')
    const keep = deviceFilter(ctx.options['name-include'] ?? '', ctx.options['name-exclude'] ?? '')
    const zeros = ctx.options['include-zeros'] ?? 'true'
    if (zeros !== 'true' && zeros !== 'false') {
      throw new Error(`interrupts.include-zeros: expected true or false, got ${JSON.stringify(zeros)}`)
    }
    const includeZeros = zeros === 'true'
    return {
      collect: (emit) => {
        let text: string
        try {
          text = ctx.fs.readText(path)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        const parsed = parseInterrupts(text)
        if (parsed === undefined) {
          ctx.problem(`${path}: no CPU header line`)
          return
        }
        for (const [type, irq] of parsed) {
          const filterName = `${type};${irq.info};${irq.devices}`
          if (!keep(filterName)) continue
          irq.values.forEach((token, cpu) => {
            const value = parseDecimal(token)
            if (value === undefined) {
              ctx.problem(`${path}: ${type}: not a count for CPU ${cpu}: ${excerpt(token)}`)
              return
            }
            if (!includeZeros && value === 0) return
            emit(
              'node_interrupts_total',
              { cpu: String(cpu), type, info: irq.info, devices: irq.devices },
              value,
            )
          })
        }
      },
    }
  },
}

/**
 * The header names one column per CPU (`CPU0 CPU1 …`); each further line is `<name>: <one count per
 * CPU> <description>`. Lines with fewer columns (ERR, MIS: one total) are left out, as node_exporter
 * does. On aarch64 the counts may follow the colon without a space, so split there first. Keyed by
 * name, a repeated name keeping its last line, as node_exporter's map does.
 */
function parseInterrupts(text: string): Map<string, Interrupt> | undefined {
  const out = new Map<string, Interrupt>()
  let cpus = -1
  forEachLine(text, (start, end) => {
    if (cpus < 0) {
      cpus = tokenize(text, start, end).length
      return
    }
    const colon = text.indexOf(':', start)
    if (colon < 0 || colon >= end) return
    const parts = tokenize(text, colon + 1, end)
    if (parts.length < cpus + 1) return
    const name = text.slice(start, colon).replace(/^ +/, '')
    const values = parts.slice(0, cpus)
    if (IRQ_NUMBER.test(name)) {
      out.set(name, { info: parts[cpus] ?? '', devices: parts.slice(cpus + 1).join(' '), values })
    } else {
      out.set(name, { info: parts.slice(cpus).join(' '), devices: '', values })
    }
  })
  return cpus < 0 ? undefined : out
}
