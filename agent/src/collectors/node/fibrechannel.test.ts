import { describe, expect, it } from 'vitest'
import { fibrechannel, parseGoUint } from './fibrechannel.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under sys/class/fc_host → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string> | undefined): Series {
  return collectSeries(fibrechannel, tempTree(under('sys/class/fc_host', files ?? {})), { sort: true })
}

const EMPTY_INFO =
  'port_id=,port_name=,fabric_name=,symbolic_name=,supported_classes=,supported_speeds=,dev_loss_tmo='

describe('parseGoUint', () => {
  it('reads ParseUint(…, 0, 64): every base, all 64 bits, no sign', () => {
    expect(parseGoUint('0x13')).toBe(19n)
    expect(parseGoUint('017')).toBe(15n)
    expect(parseGoUint('42')).toBe(42n)
    expect(parseGoUint('0xffffffffffffffff')).toBe(2n ** 64n - 1n)
    expect(parseGoUint('0x1ffffffffffffffff')).toBeUndefined()
    expect(parseGoUint('-1')).toBeUndefined()
    expect(parseGoUint('0x')).toBeUndefined()
  })
})

describe('fibrechannel', () => {
  it('is absent, without a problem, when there is no /sys/class/fc_host', () => {
    expect(run(undefined)).toEqual({ series: undefined, problems: [] })
  })

  it('sends the info labels without their 0x and leaves out counters the firmware lacks', () => {
    expect(
      run({
        'host0/speed': '16 Gbit\n',
        'host0/port_state': 'Online\n',
        'host0/port_id': '0x000002\n',
        'host0/fabric_name': '0x0\n',
        'host0/statistics/rx_frames': '0x3\n',
        'host0/statistics/dumped_frames': '0xffffffffffffffff\n',
      }),
    ).toEqual({
      series: [
        'node_fibrechannel_info{fc_host=host0,speed=16 Gbit,port_state=Online,port_type=,port_id=000002,port_name=,fabric_name=0,symbolic_name=,supported_classes=,supported_speeds=,dev_loss_tmo=} 1',
        'node_fibrechannel_rx_frames_total{fc_host=host0} 3',
      ],
      problems: [],
    })
  })

  it('reports a counter that is not a number and sends the rest', () => {
    const { series, problems } = run({
      'host0/statistics/tx_frames': 'lots\n',
      'host0/statistics/tx_words': '0x6\n',
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/host0\/statistics\/tx_frames: not an unsigned integer: "lots"/)
    expect(series).toEqual([
      `node_fibrechannel_info{fc_host=host0,speed=,port_state=,port_type=,${EMPTY_INFO}} 1`,
      'node_fibrechannel_tx_words_total{fc_host=host0} 6',
    ])
  })
})
