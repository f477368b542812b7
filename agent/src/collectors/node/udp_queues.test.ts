import { describe, expect, it } from 'vitest'
import { udpQueues } from './udp_queues.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under proc/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): Series {
  return collectSeries(udpQueues, tempTree(under('proc', files)), {})
}

const HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode'
const socket = (queues: string): string =>
  `   0: 00000000:0016 00000000:0000 07 ${queues} 00:00000000 00000000     0        0 2740 2 ffff8880`

describe('udp_queues', () => {
  it('is absent, without a problem, when neither file is there', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('sends the IPv6 sums alone when the host has no IPv4 file', () => {
    const { series, problems } = run({ 'net/udp6': [HEADER, socket('00000100:00000001'), ''].join('\n') })
    expect(problems).toEqual([])
    expect(series).toEqual(['node_udp_queues{queue=tx,ip=v6} 256', 'node_udp_queues{queue=rx,ip=v6} 1'])
  })

  it('reports a socket line it cannot read and sums the others', () => {
    const { series, problems } = run({
      'net/udp': [
        HEADER,
        socket('00000010:00000002'),
        socket('0000001x:00000002'),
        'garbage',
        socket('00000001:00000000'),
      ].join('\n'),
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('not a socket line')
    expect(problems[1]).toContain('"garbage"')
    expect(series).toEqual(['node_udp_queues{queue=tx,ip=v4} 17', 'node_udp_queues{queue=rx,ip=v4} 2'])
  })
})
