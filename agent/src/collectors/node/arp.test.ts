import { describe, expect, it } from 'vitest'
import { arp } from './arp.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under proc/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>, options: Record<string, string> = {}): Series {
  return collectSeries(arp, tempTree(under('proc', files)), { options, sort: true })
}

const TABLE = [
  'IP address       HW type     Flags       HW address            Mask     Device',
  '192.168.1.1      0x1         0x2         cc:aa:dd:ee:aa:bb     *        eth0',
  '192.168.1.2      0x1         0x0         00:00:00:00:00:00     *        eth0',
  '10.0.0.1         0x1         0x2         de:ad:be:ef:00:00     *        wlan0',
  '10.0.0.2         0x20        0x2         80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bc:01     *   ib0',
  '',
].join('\n')

describe('arp', () => {
  it('is absent, without a problem, when there is no /proc/net/arp', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('counts every entry per device, incomplete ones too, as procfs does', () => {
    expect(run({ 'net/arp': TABLE })).toEqual({
      series: [
        'node_arp_entries{device=eth0} 2',
        'node_arp_entries{device=ib0} 1',
        'node_arp_entries{device=wlan0} 1',
      ],
      problems: [],
    })
  })

  it('reports a line that is not an entry and counts the rest', () => {
    const { series, problems } = run({
      'net/arp': `${TABLE}10.0.0.3 0x1 0x2 not-a-mac * wlan0\n10.0.0.4 0x1 0x2 aa:bb:cc:dd:ee:ff wlan0\n`,
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('not an ARP entry: "10.0.0.3')
    expect(series).toContain('node_arp_entries{device=wlan0} 1')
  })

  it('filters devices with unanchored patterns, include before exclude', () => {
    expect(run({ 'net/arp': TABLE }, { 'device-include': 'eth|ib' }).series).toEqual([
      'node_arp_entries{device=eth0} 2',
      'node_arp_entries{device=ib0} 1',
    ])
    expect(run({ 'net/arp': TABLE }, { 'device-exclude': 'lan' }).series).toEqual([
      'node_arp_entries{device=eth0} 2',
      'node_arp_entries{device=ib0} 1',
    ])
  })
})
