import { endianness } from 'node:os'
import { describe, expect, it } from 'vitest'
import { sockstat } from './sockstat.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under proc/ → `name value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string | Buffer>): Series {
  return collectSeries(sockstat, tempTree(under('proc', files)), { format: 'bare', sort: true })
}

/** An auxiliary vector of 64-bit words in this machine's byte order: AT_PHDR, AT_PAGESZ, AT_NULL. */
function auxv(pageSize: number): Buffer {
  const words = [3n, 0x400040n, 6n, BigInt(pageSize), 0n, 0n]
  const buf = Buffer.alloc(words.length * 8)
  words.forEach((w, i) => {
    if (endianness() === 'LE') buf.writeBigUInt64LE(w, i * 8)
    else buf.writeBigUInt64BE(w, i * 8)
  })
  return buf
}

describe('sockstat', () => {
  it('is absent, without a problem, when neither file is there', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('sends the IPv6 file alone, without sockets_used', () => {
    const { series, problems } = run({ 'net/sockstat6': 'TCP6: inuse 17\nFRAG6: inuse 0 memory 0\n' })
    expect(problems).toEqual([])
    expect(series).toEqual([
      'node_sockstat_FRAG6_inuse 0',
      'node_sockstat_FRAG6_memory 0',
      'node_sockstat_TCP6_inuse 17',
    ])
  })

  it('reports a line it cannot read and keeps the others', () => {
    const { series, problems } = run({
      'net/sockstat': 'sockets: used 5\nTCP: inuse x mem 1\nRAW: inuse 2 orphan\nUDP: inuse 3\n',
    })
    expect(problems).toHaveLength(2)
    expect(problems[0]).toContain('"TCP: inuse x mem 1"')
    expect(problems[1]).toContain('"RAW: inuse 2 orphan"')
    expect(series).toEqual(['node_sockstat_UDP_inuse 3', 'node_sockstat_sockets_used 5'])
  })

  it('counts mem_bytes in the kernel’s page size, from the auxiliary vector, 4 KiB without one', () => {
    const text = 'TCP: inuse 1 mem 3\n'
    expect(run({ 'net/sockstat': text }).series).toContain('node_sockstat_TCP_mem_bytes 12288')
    expect(run({ 'net/sockstat': text, 'self/auxv': auxv(65536) }).series).toContain(
      'node_sockstat_TCP_mem_bytes 196608',
    )
  })
})
