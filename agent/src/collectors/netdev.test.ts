import { describe, expect, it } from 'vitest'
import { readFixture } from './__fixtures__/fixtures.ts'
import { parseNetDev, type NetDevFilter } from './netdev.ts'

function parse(
  text: string,
  filter: NetDevFilter = {},
): { sample: ReturnType<typeof parseNetDev>; problems: string[] } {
  const problems: string[] = []
  const sample = parseNetDev(text, filter, (p) => problems.push(p))
  return { sample, problems }
}

const HEADER =
  'Inter-|   Receive                                                |  Transmit\n' +
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n'

describe('parseNetDev', () => {
  it('keeps every interface, loopback included, unless a filter is given, as node_exporter does', () => {
    const text = readFixture('procfs/proc/net/dev')
    expect(parseNetDev(text).interfaces.map((i) => i.device)).toEqual([
      'vethf345468',
      'lo',
      'docker0',
      'eth0',
    ])
    expect(parseNetDev(text, { include: /^(lo|eth0)$/ }).interfaces.map((i) => i.device)).toEqual([
      'lo',
      'eth0',
    ])
  })

  it('reads right-aligned and long interface names of the procfs fixture, all 16 counters', () => {
    const { sample, problems } = parse(readFixture('procfs/proc/net/dev'))
    expect(problems).toEqual([])
    expect(sample.interfaces.map((i) => i.device)).toEqual(['vethf345468', 'lo', 'docker0', 'eth0'])
    expect(sample.interfaces[3]).toEqual({
      device: 'eth0',
      rx_bytes: 874354587,
      rx_packets: 1036395,
      rx_errs: 0,
      rx_drop: 0,
      rx_fifo: 0,
      rx_frame: 0,
      rx_compressed: 0,
      rx_multicast: 0,
      tx_bytes: 563352563,
      tx_packets: 732147,
      tx_errs: 0,
      tx_drop: 0,
      tx_fifo: 0,
      tx_colls: 0,
      tx_carrier: 0,
      tx_compressed: 0,
    })
    expect(sample.interfaces[1]?.rx_bytes).toBe(1664039048)
    expect(sample.interfaces[0]?.tx_packets).toBe(5)
  })

  it('reads the live VM', () => {
    const { sample, problems } = parse(readFixture('live-t0/proc/net/dev'))
    expect(problems).toEqual([])
    expect(sample.interfaces.map((i) => i.device)).toEqual(['lo', 'ifb0', 'ifb1', 'eth0'])
    expect(sample.interfaces[3]).toMatchObject({
      rx_bytes: 209754194,
      rx_packets: 4463,
      tx_bytes: 269890,
      tx_packets: 3004,
    })
  })

  it('reads a counter glued to the colon', () => {
    const text = `${HEADER}  eth0:1234567890 1036395    0    0    0     0          0         0 563352563  732147    0    0    0     0       0          0\n`
    const { sample, problems } = parse(text)
    expect(problems).toEqual([])
    expect(sample.interfaces[0]).toMatchObject({
      device: 'eth0',
      rx_bytes: 1234567890,
      rx_packets: 1036395,
      tx_bytes: 563352563,
    })
  })

  it('applies include, then exclude', () => {
    const text = readFixture('live-t0/proc/net/dev')
    expect(parse(text, { exclude: /^ifb/ }).sample.interfaces.map((i) => i.device)).toEqual(['lo', 'eth0'])
    expect(parse(text, { include: /^(eth|ifb)/ }).sample.interfaces.map((i) => i.device)).toEqual([
      'ifb0',
      'ifb1',
      'eth0',
    ])
    expect(
      parse(text, { include: /^(eth|ifb)/, exclude: /1$/ }).sample.interfaces.map((i) => i.device),
    ).toEqual(['ifb0', 'eth0'])
  })

  it('is not confused by a /g filter regex keeping lastIndex between interfaces', () => {
    const text = readFixture('live-t0/proc/net/dev')
    expect(parse(text, { include: /i/g }).sample.interfaces.map((i) => i.device)).toEqual(['ifb0', 'ifb1'])
  })

  it('skips and reports truncated, non-numeric and nameless lines', () => {
    const text =
      HEADER +
      '    lo:    6097      56    0    0    0     0          0         0     6097      56    0    0    0     0       0          0\n' +
      '  eth0: 209754194    4463    0\n' +
      '  eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n' +
      '      : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n' +
      'garbage without colon\n'
    const { sample, problems } = parse(text)
    expect(sample.interfaces.map((i) => i.device)).toEqual(['lo'])
    expect(problems).toHaveLength(4)
  })

  it('never throws on empty or garbage input', () => {
    expect(parse('')).toEqual({ sample: { interfaces: [] }, problems: ['/proc/net/dev: no header lines'] })
    expect(parse('\u0000:\u0001\n:::\n|').sample.interfaces).toEqual([])
  })
})
