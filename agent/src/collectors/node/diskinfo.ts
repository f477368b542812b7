import { excerpt, forEachLine, parseDecimal, parseInteger, tokenize } from '../parse-util.ts'
import { deviceFilter, isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/**
 * node_exporter 1.12's default --collector.diskstats.device-exclude: partitions of sd/hd/vd/xvd and
 * nvme disks, ram and zram disks, loop devices and floppies.
 */
const DEFAULT_DEVICE_EXCLUDE = '^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$'
/** procfs keeps a /proc/diskstats line only with major, minor, name and at least the 11 classic counters. */
const MIN_DISKSTATS_FIELDS = 14
/** udevadm(8): `E:` lines are the device's properties. */
const PROPERTY_PREFIX = 'E:'
/** The ATA properties node_exporter exports as numbers, when udev's ata_id set ID_ATA. */
const ATA_METRICS = [
  ['ID_ATA_WRITE_CACHE', 'node_disk_ata_write_cache'],
  ['ID_ATA_WRITE_CACHE_ENABLED', 'node_disk_ata_write_cache_enabled'],
  ['ID_ATA_ROTATION_RATE_RPM', 'node_disk_ata_rotation_rate_rpm'],
] as const

interface BlockDevice {
  name: string
  major: number
  minor: number
}

/**
 * Identity of each block device in /proc/diskstats, as node_exporter's diskstats collector adds it
 * to the I/O counters (which are the typed `disk` family here): model, serial, path and WWN from
 * udev's database (`b<major>:<minor>`), rotational from sysfs, the filesystem and device-mapper
 * volume on it, and ATA cache and rotation rate.
 */
export const diskinfo: NodeCollector = {
  name: 'diskinfo',
  description: 'block device identity, filesystem and device-mapper info (udev database, /sys/block)',
  defaultEnabled: true,
  options: {
    'device-exclude': {
      default: DEFAULT_DEVICE_EXCLUDE,
      help: 'Regexp of diskstats devices to exclude (mutually exclusive to device-include).',
    },
    'device-include': {
      default: '',
      help: 'Regexp of diskstats devices to include (mutually exclusive to device-exclude).',
    },
  },
  open: (ctx) => {
    const path = join(ctx.paths.procfs, 'diskstats')
    const keep = deviceFilter(ctx.options['device-include'] ?? '', ctx.options['device-exclude'] ?? '')
    return {
      collect: (emit) => {
        let text: string
        try {
          text = ctx.fs.readText(path)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        for (const dev of blockDevices(text, path, ctx)) {
          if (!keep(dev.name)) continue
          const device = dev.name
          const info = udevProperties(dev, ctx)
          const prop = (key: string): string => info.get(key) ?? ''
          emit(
            'node_disk_info',
            {
              device,
              major: String(dev.major),
              minor: String(dev.minor),
              path: prop('ID_PATH'),
              wwn: prop('ID_WWN'),
              model: prop('ID_MODEL'),
              // The serial printed on the label, else the short serial, else virtio's ID_SERIAL.
              serial: prop('SCSI_IDENT_SERIAL') || prop('ID_SERIAL_SHORT') || prop('ID_SERIAL'),
              revision: prop('ID_REVISION'),
              rotational: rotational(device, ctx),
            },
            1,
          )
          const fsType = prop('ID_FS_TYPE')
          if (fsType !== '') {
            emit(
              'node_disk_filesystem_info',
              {
                device,
                type: fsType,
                usage: prop('ID_FS_USAGE'),
                uuid: prop('ID_FS_UUID'),
                version: prop('ID_FS_VERSION'),
              },
              1,
            )
          }
          const dmName = prop('DM_NAME')
          if (dmName !== '') {
            emit(
              'node_disk_device_mapper_info',
              {
                device,
                name: dmName,
                uuid: prop('DM_UUID'),
                vg_name: prop('DM_VG_NAME'),
                lv_name: prop('DM_LV_NAME'),
                lv_layer: prop('DM_LV_LAYER'),
              },
              1,
            )
          }
          if (prop('ID_ATA') === '') continue
          for (const [key, metric] of ATA_METRICS) {
            const raw = info.get(key)
            if (raw === undefined) continue
            const value = parseDecimal(raw)
            if (value === undefined) ctx.problem(`udev ${device}: ${key} is not a number: ${excerpt(raw)}`)
            else emit(metric, { device }, value)
          }
        }
      },
    }
  },
}

/** Name, major and minor of each /proc/diskstats line, in file order. */
function blockDevices(text: string, path: string, ctx: CollectorContext): BlockDevice[] {
  const out: BlockDevice[] = []
  forEachLine(text, (start, end) => {
    const fields = tokenize(text, start, end)
    if (fields.length === 0) return
    const major = parseInteger(fields[0] ?? '')
    const minor = parseInteger(fields[1] ?? '')
    const name = fields[2]
    if (
      fields.length < MIN_DISKSTATS_FIELDS ||
      major === undefined ||
      minor === undefined ||
      name === undefined
    ) {
      ctx.problem(`${path}: not a device line: ${excerpt(text.slice(start, end))}`)
      return
    }
    out.push({ name, major, minor })
  })
  return out
}

/** The device's udev properties; none when udev has no record of it (or no database at all). */
function udevProperties(dev: BlockDevice, ctx: CollectorContext): Map<string, string> {
  const info = new Map<string, string>()
  const path = join(ctx.paths.udevData, `b${String(dev.major)}:${String(dev.minor)}`)
  let text: string
  try {
    text = ctx.fs.readText(path)
  } catch (err) {
    if (!isAbsent(err)) ctx.problem(`${path}: ${err instanceof Error ? err.message : String(err)}`)
    return info
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith(PROPERTY_PREFIX)) continue
    const eq = line.indexOf('=')
    if (eq < 0) continue
    info.set(line.slice(PROPERTY_PREFIX.length, eq), line.slice(eq + 1))
  }
  return info
}

/**
 * /sys/block/<dev>/queue/rotational, printed in base 2 as node_exporter does (strconv.FormatUint(v,
 * 2): the kernel only ever writes 0 or 1, so the digits are the same); "0" where the device has no
 * queue directory (partitions) or the file cannot be read, as node_exporter's zero value.
 * node_exporter takes it from procfs's read of some 35 queue files, which also gives 0 when any
 * other one of them is missing; only this one is read here.
 */
function rotational(device: string, ctx: CollectorContext): string {
  const path = join(ctx.paths.sysfs, 'block', device, 'queue', 'rotational')
  let text: string
  try {
    text = ctx.fs.readText(path)
  } catch (err) {
    if (!isAbsent(err)) ctx.problem(`${path}: ${err instanceof Error ? err.message : String(err)}`)
    return '0'
  }
  const value = parseInteger(text.trim())
  if (value === undefined || value < 0) {
    ctx.problem(`${path}: not a number: ${excerpt(text.trim())}`)
    return '0'
  }
  return value.toString(2)
}
