import { describe, expect, it } from 'vitest'
import { diskinfo } from './diskinfo.ts'
import { collectSeries, type Series, tempTree } from './testing.ts'

/** Each series as `name{labels} value`, for short expectations; undefined when absent. */
function run(files: Record<string, string>, options: Record<string, string> = {}): Series {
  return collectSeries(diskinfo, tempTree(files), { options, format: 'json' })
}

const ZEROS = ' 0 0 0 0 0 0 0 0 0 0 0'

describe('diskinfo', () => {
  it('is absent, without a problem, when there is no /proc/diskstats', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('reports a line it cannot read and keeps the other devices, with empty labels where udev has no record', () => {
    const { series, problems } = run({
      'proc/diskstats': [`   8  0 sda${ZEROS}`, '   8  x sdb 1 2', ` 253  0 vda${ZEROS}`, ''].join('\n'),
      'sys/block/sda/queue/rotational': '1\n',
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('not a device line: "   8  x sdb 1 2"')
    expect(series).toEqual([
      'node_disk_info{"device":"sda","major":"8","minor":"0","path":"","wwn":"","model":"","serial":"","revision":"","rotational":"1"} 1',
      // No /sys/block/vda/queue: rotational is node_exporter's zero value.
      'node_disk_info{"device":"vda","major":"253","minor":"0","path":"","wwn":"","model":"","serial":"","revision":"","rotational":"0"} 1',
    ])
  })

  it('reads udev properties: serial fallbacks, filesystem, device mapper and ATA values', () => {
    const { series, problems } = run({
      'proc/diskstats': [`8 16 sdb${ZEROS}`, `252 0 dm-0${ZEROS}`, ''].join('\n'),
      'udev/b8:16': [
        'S:disk/by-id/ata-X',
        'E:ID_ATA=1',
        'E:ID_MODEL=X',
        'E:ID_SERIAL=X_123',
        'E:ID_SERIAL_SHORT=123',
        'E:ID_ATA_WRITE_CACHE=1',
        'E:ID_ATA_ROTATION_RATE_RPM=fast',
        'E:ID_FS_TYPE=ext4',
        'E:ID_FS_UUID=u-1',
        'E:ID_FS_VERSION=1.0',
        'E:ID_FS_USAGE=filesystem',
        '',
      ].join('\n'),
      // ATA values count only for a device udev's ata_id identified (ID_ATA).
      'udev/b252:0':
        'E:DM_NAME=vg-root\nE:DM_UUID=LVM-1\nE:DM_VG_NAME=vg\nE:DM_LV_NAME=root\nE:DM_LV_LAYER=\nE:ID_ATA_WRITE_CACHE=1\n',
      'sys/block/sdb/queue/rotational': 'spinning\n',
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('rotational: not a number: "spinning"')
    expect(problems[1]).toContain('ID_ATA_ROTATION_RATE_RPM is not a number: "fast"')
    expect(series).toEqual([
      'node_disk_info{"device":"sdb","major":"8","minor":"16","path":"","wwn":"","model":"X","serial":"123","revision":"","rotational":"0"} 1',
      'node_disk_filesystem_info{"device":"sdb","type":"ext4","usage":"filesystem","uuid":"u-1","version":"1.0"} 1',
      'node_disk_ata_write_cache{"device":"sdb"} 1',
      'node_disk_info{"device":"dm-0","major":"252","minor":"0","path":"","wwn":"","model":"","serial":"","revision":"","rotational":"0"} 1',
      'node_disk_device_mapper_info{"device":"dm-0","name":"vg-root","uuid":"LVM-1","vg_name":"vg","lv_name":"root","lv_layer":""} 1',
    ])
  })

  it('leaves out partitions, ram, zram and loop devices by default; device-include replaces that', () => {
    const diskstats = ['sda', 'sda1', 'nvme0n1', 'nvme0n1p1', 'zram0', 'loop0', 'mmcblk0p1', 'dm-0']
      .map((name, i) => `1 ${String(i)} ${name}${ZEROS}`)
      .join('\n')
    const devices = (s: string[] | undefined): string[] =>
      (s ?? []).map((line) => /"device":"([^"]+)"/.exec(line)?.[1] ?? '')
    expect(devices(run({ 'proc/diskstats': diskstats }).series)).toEqual([
      'sda',
      'nvme0n1',
      'mmcblk0p1',
      'dm-0',
    ])
    expect(
      devices(
        run({ 'proc/diskstats': diskstats }, { 'device-include': '^sda', 'device-exclude': '' }).series,
      ),
    ).toEqual(['sda', 'sda1'])
  })
})
