import { describe, expect, it } from 'vitest'
import { netstat } from './netstat.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under proc/ → `name value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>, options: Record<string, string> = {}): Series {
  return collectSeries(netstat, tempTree(under('proc', files)), { options, format: 'bare', sort: true })
}

describe('netstat', () => {
  it('is absent, without a problem, when none of the three files is there', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('sends what one file has when the others are missing (a host without IPv6 has no snmp6)', () => {
    const { series, problems } = run({ 'net/snmp': 'Ip: Forwarding DefaultTTL\nIp: 1 64\n' })
    expect(problems).toEqual([])
    expect(series).toEqual(['node_netstat_Ip_Forwarding 1'])
  })

  it('reports a header whose value count differs, or that has no values line, and keeps the rest', () => {
    const { series, problems } = run({
      'net/snmp': [
        'Tcp: ActiveOpens PassiveOpens',
        'Tcp: 7',
        'Udp: InErrors NoPorts',
        'Icmp: InMsgs OutMsgs',
        'Icmp: 3 4',
        '',
      ].join('\n'),
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('Tcp: has 2 names but 1 values')
    expect(problems[1]).toContain('"Udp: InErrors NoPorts" is not followed by its values')
    expect(series).toEqual(['node_netstat_Icmp_InMsgs 3', 'node_netstat_Icmp_OutMsgs 4'])
  })

  it('reports a value that is not a number only for fields it sends', () => {
    const { series, problems } = run({
      'net/netstat': 'TcpExt: ListenDrops PruneCalled ListenOverflows\nTcpExt: x y 5\n',
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('TcpExt_ListenDrops is not a number: "x"')
    expect(series).toEqual(['node_netstat_TcpExt_ListenOverflows 5'])
  })

  it('splits snmp6 names at their first 6 and skips lines without one', () => {
    const { series, problems } = run({
      'net/snmp6': 'Ip6InOctets   460\nUdpLite6InErrors\t2\nIcmp6InMsgs 9\nnothing 1\n\n',
    })
    expect(problems).toEqual([])
    expect(series).toEqual([
      'node_netstat_Icmp6_InMsgs 9',
      'node_netstat_Ip6_InOctets 460',
      'node_netstat_UdpLite6_InErrors 2',
    ])
  })

  it('matches the fields pattern unanchored, as Go does', () => {
    const { series } = run(
      { 'net/snmp': 'Tcp: InSegs OutSegs MaxConn\nTcp: 10 20 -1\n' },
      { fields: 'Segs|Max' },
    )
    expect(series).toEqual([
      'node_netstat_Tcp_InSegs 10',
      'node_netstat_Tcp_MaxConn -1',
      'node_netstat_Tcp_OutSegs 20',
    ])
  })
})
