import { isAbsent, join, type NodeCollector } from './collector.ts'

/** The /sys/class/dmi/id attributes node_exporter labels node_dmi_info with, and their label names. */
const ATTRIBUTES: readonly (readonly [file: string, label: string])[] = [
  ['bios_date', 'bios_date'],
  ['bios_release', 'bios_release'],
  ['bios_vendor', 'bios_vendor'],
  ['bios_version', 'bios_version'],
  ['board_asset_tag', 'board_asset_tag'],
  ['board_name', 'board_name'],
  ['board_serial', 'board_serial'],
  ['board_vendor', 'board_vendor'],
  ['board_version', 'board_version'],
  ['chassis_asset_tag', 'chassis_asset_tag'],
  ['chassis_serial', 'chassis_serial'],
  ['chassis_vendor', 'chassis_vendor'],
  ['chassis_version', 'chassis_version'],
  ['product_family', 'product_family'],
  ['product_name', 'product_name'],
  ['product_serial', 'product_serial'],
  ['product_sku', 'product_sku'],
  ['product_uuid', 'product_uuid'],
  ['product_version', 'product_version'],
  ['sys_vendor', 'system_vendor'],
]

/**
 * The firmware's DMI (SMBIOS) identification in /sys/class/dmi/id, as node_exporter's dmi collector
 * reports it: one node_dmi_info series labelled with every attribute the kernel offers. Serial
 * numbers and the product UUID are readable by root only; without root those labels are left out
 * rather than emitted empty, as node_exporter does.
 */
export const dmi: NodeCollector = {
  name: 'dmi',
  description: 'firmware, board and chassis identification (/sys/class/dmi/id)',
  defaultEnabled: true,
  open: (ctx) => {
    const dir = join(ctx.paths.sysfs, 'class/dmi/id')
    return {
      collect: (emit) => {
        if (!ctx.fs.isDir(dir)) return 'absent'
        const labels: Record<string, string> = {}
        for (const [file, label] of ATTRIBUTES) {
          try {
            labels[label] = ctx.fs.readText(join(dir, file)).trim()
          } catch (err) {
            if (isAbsent(err) || (err as NodeJS.ErrnoException).code === 'EACCES') continue
            throw err
          }
        }
        if (Object.keys(labels).length === 0) return 'absent'
        emit('node_dmi_info', labels, 1)
      },
    }
  },
}
