import { describe, expect, it } from 'vitest'
import { mdadm, parseMdstat } from './mdadm.ts'
import { collectSeries, type Series, tempTree } from './testing.ts'

const tree = (files: Record<string, string>): string => tempTree(files)

/** Each series as `name{labels} value`. */
const run = (root: string): Series => collectSeries(mdadm, root, { via: 'agent', format: 'json' })

describe('mdadm', () => {
  it('is absent without /proc/mdstat', () => {
    expect(run(tree({ 'sys/block/md0/md/level': 'raid1\n' }))).toEqual({ series: undefined, problems: [] })
  })

  it('skips arrays whose lines do not parse and keeps the others', () => {
    const problems: string[] = []
    const arrays = parseMdstat(
      [
        'Personalities : [raid1]',
        'md0 : active raid1 sdb1[1] sda1[0](F)',
        '      1000 blocks super 1.2 [2/1] [U_]',
        '      bitmap: 0/8 pages [0KB], 65536KB chunk',
        '      [==>..]  recovery = 12.5% (125/1000) finish=1.0min speed=100K/sec',
        '',
        'md1 : active raid1 sdc1[0]',
        '      lots of blocks',
        '',
        'md2 :',
        'md3 : active raid1 sdd1[0] sde1[1]',
        '      1000 blocks [2/2] [UU]',
        '      [==>..]  resync = 12.5% (garbled) finish=1.0min speed=100K/sec',
        '',
        'unused devices: <none>',
      ].join('\n'),
      (p) => problems.push(p),
    )
    expect(problems).toEqual([
      'md1: status line "      lots of blocks" does not parse',
      'not an array line: "md2 :"',
      expect.stringContaining('md3: progress line'),
    ])
    expect(arrays).toEqual([
      {
        name: 'md0',
        activity: 'recovering',
        disksActive: 1,
        disksTotal: 2,
        disksFailed: 1,
        disksSpare: 0,
        blocks: 1000,
        blocksSynced: 125,
      },
    ])
  })

  it('reads raid and degraded disks from sysfs, reporting an array whose attributes do not parse', () => {
    const { series, problems } = run(
      tree({
        'proc/mdstat': 'Personalities : \nunused devices: <none>\n',
        'sys/block/md0/md/level': 'raid0\n',
        'sys/block/md0/md/raid_disks': '2\n',
        'sys/block/md1/md/level': 'raid5\n',
        'sys/block/md1/md/raid_disks': '3\n',
        'sys/block/md1/md/degraded': 'one\n',
        'sys/block/md2/md/raid_disks': '2\n',
        'sys/block/sda/size': '1\n',
      }),
    )
    expect(problems).toEqual([
      expect.stringContaining('md1/md/degraded: not a count: "one"'),
      expect.stringContaining('md2/md/level: missing'),
    ])
    expect(series).toEqual(['node_md_raid_disks{"device":"md0"} 2', 'node_md_degraded{"device":"md0"} 0'])
  })
})
