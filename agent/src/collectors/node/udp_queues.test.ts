import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { udpQueues } from './udp_queues.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** The files under proc/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): { series: string[] | undefined; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'udp_queues-test-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'proc', path)), { recursive: true })
    writeFileSync(join(root, 'proc', path), text)
  }
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = udpQueues.open({
      paths: {
        procfs: join(root, 'proc'),
        sysfs: join(root, 'sys'),
        rootfs: root,
        udevData: join(root, 'udev'),
      },
      options: {},
      problem: (p) => problems.push(p),
      fs,
    })
    const result = reader.collect((name, labels, value) => {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
      series.push(`${name}{${text}} ${String(value)}`)
    })
    return { series: result === 'absent' ? undefined : series, problems }
  } finally {
    fs.close()
  }
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
