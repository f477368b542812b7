import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { fibrechannel, parseGoUint } from './fibrechannel.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** The files under sys/class/fc_host → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string> | undefined): {
  series: string[] | undefined
  problems: string[]
} {
  const root = mkdtempSync(join(tmpdir(), 'fibrechannel-test-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files ?? {})) {
    mkdirSync(dirname(join(root, 'sys/class/fc_host', path)), { recursive: true })
    writeFileSync(join(root, 'sys/class/fc_host', path), text)
  }
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = fibrechannel.open({
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
    return { series: result === 'absent' ? undefined : series.sort(), problems }
  } finally {
    fs.close()
  }
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
