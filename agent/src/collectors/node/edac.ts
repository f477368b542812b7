import { excerpt, parseInteger } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

const CONTROLLER_DIR = /^mc([0-9]*)$/
const CSROW_DIR = /^csrow([0-9]*)$/
const CHANNEL_CE_FILE = /^ch([0-9]+)_ce_count$/

/**
 * Memory error counters of the EDAC memory controllers in /sys/devices/system/edac/mc, as
 * node_exporter's edac collector reports them: per controller, per chip-select row (errors the
 * driver could not place counted under csrow "unknown") and per channel of a row, with its DIMM label.
 */
export const edac: NodeCollector = {
  name: 'edac',
  description: 'ECC memory error counts (/sys/devices/system/edac/mc)',
  defaultEnabled: true,
  open: (ctx) => {
    const base = join(ctx.paths.sysfs, 'devices/system/edac/mc')

    /** A counter file; undefined, after a problem report when it is there but unreadable as a number. */
    const readCount = (path: string, optional = false): number | undefined => {
      let text: string
      try {
        text = ctx.fs.readText(path).trim()
      } catch (err) {
        if (!isAbsent(err)) throw err
        if (!optional) ctx.problem(`${path}: missing`)
        return undefined
      }
      const value = parseInteger(text)
      if (value === undefined || value < 0) ctx.problem(`${path}: not a count: ${excerpt(text)}`)
      return value !== undefined && value >= 0 ? value : undefined
    }

    /**
     * The channel's DIMM label as node_exporter prints it: the kernel's default label
     * `mc#0csrow#1channel#0` becomes `mc0_csrow1_channel0`; "unknown" when there is none.
     */
    const dimmLabel = (rowDir: string, channel: string): string => {
      let label: string
      try {
        label = ctx.fs.readText(join(rowDir, `ch${channel}_dimm_label`)).trim()
      } catch (err) {
        if (isAbsent(err)) return 'unknown'
        throw err
      }
      return label.replaceAll('#', '').replaceAll('csrow', '_csrow').replaceAll('channel', '_channel')
    }

    return {
      collect: (emit) => {
        let entries: string[]
        try {
          entries = ctx.fs.readDir(base)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const entry of entries) {
          const controller = CONTROLLER_DIR.exec(entry)?.[1]
          if (controller === undefined || controller === '') continue
          const dir = join(base, entry)
          const counter = (metric: string, file: string, labels: Record<string, string>): void => {
            const value = readCount(join(dir, file))
            if (value !== undefined) emit(metric, { controller, ...labels }, value)
          }
          counter('node_edac_correctable_errors_total', 'ce_count', {})
          counter('node_edac_csrow_correctable_errors_total', 'ce_noinfo_count', { csrow: 'unknown' })
          counter('node_edac_uncorrectable_errors_total', 'ue_count', {})
          counter('node_edac_csrow_uncorrectable_errors_total', 'ue_noinfo_count', { csrow: 'unknown' })

          for (const rowEntry of ctx.fs.readDir(dir)) {
            const csrow = CSROW_DIR.exec(rowEntry)?.[1]
            if (csrow === undefined || csrow === '') continue
            const rowDir = join(dir, rowEntry)
            counter('node_edac_csrow_correctable_errors_total', join(rowEntry, 'ce_count'), { csrow })
            counter('node_edac_csrow_uncorrectable_errors_total', join(rowEntry, 'ue_count'), { csrow })
            for (const file of ctx.fs.readDir(rowDir)) {
              const channel = CHANNEL_CE_FILE.exec(file)?.[1]
              if (channel === undefined) continue
              const labels = { controller, csrow, channel, dimm_label: dimmLabel(rowDir, channel) }
              const ce = readCount(join(rowDir, file))
              if (ce !== undefined) emit('node_edac_channel_correctable_errors_total', labels, ce)
              // Not every driver counts uncorrectable errors per channel.
              const ue = readCount(join(rowDir, `ch${channel}_ue_count`), true)
              if (ue !== undefined) emit('node_edac_channel_uncorrectable_errors_total', labels, ue)
            }
          }
        }
      },
    }
  },
}
