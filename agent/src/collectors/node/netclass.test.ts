import { describe, expect, it } from 'vitest'
import { netclass, parseGoInt } from './netclass.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under sys/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>, options: Record<string, string> = {}): Series {
  return collectSeries(netclass, tempTree(under('sys', files)), { options, sort: true })
}

function iface(name: string, attributes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`class/net/${name}/${k}`, `${v}\n`]))
}

describe('netclass', () => {
  it('is absent, without a problem, when there is no /sys/class/net', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('reads hex flags and device ids, derives the admin state from IFF_UP and skips plain files', () => {
    const { series, problems } = run({
      'class/net/bonding_masters': 'bond0\n',
      ...iface('eth0', { flags: '0x1003', dev_id: '0x20', operstate: 'up', speed: '10000', mtu: '9000' }),
      ...iface('eth1', { flags: '0x1002', operstate: 'down', address: 'aa:bb:cc:dd:ee:ff' }),
    })
    expect(problems).toEqual([])
    expect(series).toEqual([
      'node_network_device_id{device=eth0} 32',
      'node_network_flags{device=eth0} 4099',
      'node_network_flags{device=eth1} 4098',
      'node_network_info{device=eth0,address=,broadcast=,duplex=,operstate=up,adminstate=up,ifalias=} 1',
      'node_network_info{device=eth1,address=aa:bb:cc:dd:ee:ff,broadcast=,duplex=,operstate=down,adminstate=down,ifalias=} 1',
      'node_network_mtu_bytes{device=eth0} 9000',
      'node_network_speed_bytes{device=eth0} 1250000000',
      'node_network_up{device=eth0} 1',
      'node_network_up{device=eth1} 0',
    ])
  })

  it('reports an attribute that is not a number and keeps the rest of the device', () => {
    const { series, problems } = run(iface('eth0', { mtu: 'jumbo', carrier: '1', operstate: 'up' }))
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/class\/net\/eth0\/mtu: not an integer: "jumbo"/)
    expect(series).toContain('node_network_carrier{device=eth0} 1')
    expect(series?.some((s) => s.startsWith('node_network_mtu_bytes'))).toBe(false)
    // Without flags node_exporter cannot tell the admin state.
    expect(series?.find((s) => s.startsWith('node_network_info'))).toContain('adminstate=unknown')
  })

  it('sends an unknown speed (-1) as node_exporter 1.x does unless told to ignore it', () => {
    const files = iface('bond0', { speed: '-1' })
    expect(run(files).series).toContain('node_network_speed_bytes{device=bond0} -125000')
    expect(run(files, { 'ignore-invalid-speed': 'true' }).series).not.toContain(
      'node_network_speed_bytes{device=bond0} -125000',
    )
  })

  it('filters devices with unanchored patterns', () => {
    const files = { ...iface('eth0', { mtu: '1500' }), ...iface('veth12', { mtu: '1500' }) }
    const devices = (options: Record<string, string>): string[] =>
      (run(files, options).series ?? [])
        .filter((s) => s.startsWith('node_network_up'))
        .map((s) => s.split(' ')[0] ?? '')
    expect(devices({ 'ignored-devices': 'veth' })).toEqual(['node_network_up{device=eth0}'])
    expect(devices({ 'accept-devices': 'veth' })).toEqual(['node_network_up{device=veth12}'])
  })
})

describe('parseGoInt (strconv.ParseInt base 0)', () => {
  it('takes the prefixes and separators Go takes and nothing else', () => {
    expect(parseGoInt('0x1303')).toBe(4867)
    expect(parseGoInt('010')).toBe(8)
    expect(parseGoInt('0b11')).toBe(3)
    expect(parseGoInt('-0o17')).toBe(-15)
    expect(parseGoInt('1_000')).toBe(1000)
    expect(parseGoInt('+7')).toBe(7)
    for (const bad of ['', '08', '0x', '1__0', '_1', '1_', '1.5', ' 1', '9223372036854775808'])
      expect(parseGoInt(bad), bad).toBeUndefined()
    expect(parseGoInt('-9223372036854775808')).toBe(-9223372036854775808)
  })
})
