import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { infiniband } from './infiniband.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** Files under sys/class/infiniband (path → content) → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string> | undefined): {
  series: string[] | undefined
  problems: string[]
} {
  const root = mkdtempSync(join(tmpdir(), 'infiniband-test-'))
  roots.push(root)
  if (files !== undefined) mkdirSync(join(root, 'sys/class/infiniband'), { recursive: true })
  for (const [path, text] of Object.entries(files ?? {})) {
    const file = join(root, 'sys/class/infiniband', path)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, text)
  }
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = infiniband.open({
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

const PORT = {
  'mlx5_0/fw_ver': '16.35.2000\n',
  'mlx5_0/ports/1/state': '4: ACTIVE\n',
  'mlx5_0/ports/1/phys_state': '5: LinkUp\n',
  'mlx5_0/ports/1/rate': '2.5 Gb/sec (1X SDR)\n',
}

describe('infiniband', () => {
  it('is absent, without a problem, when there is no /sys/class/infiniband', () => {
    expect(run(undefined)).toEqual({ series: undefined, problems: [] })
  })

  it('sends the port gauges and counters, data counters in octets, skipping N/A (no PMA)', () => {
    expect(
      run({
        ...PORT,
        'mlx5_0/ports/1/counters/port_rcv_data': '0x10\n',
        'mlx5_0/ports/1/counters/link_downed': '3\n',
        'mlx5_0/ports/1/counters/symbol_error': 'N/A (no PMA)\n',
        'mlx5_0/ports/1/counters/unknown_counter': '7\n',
        'mlx5_0/ports/1/counters_ext/port_xmit_data_64': '18446744073709551615\n',
      }),
    ).toEqual({
      series: [
        'node_infiniband_info{device=mlx5_0,board_id=,firmware_version=16.35.2000,hca_type=} 1',
        'node_infiniband_legacy_data_transmitted_bytes_total{device=mlx5_0,port=1} 18446744073709552000',
        'node_infiniband_link_downed_total{device=mlx5_0,port=1} 3',
        'node_infiniband_physical_state_id{device=mlx5_0,port=1} 5',
        'node_infiniband_port_data_received_bytes_total{device=mlx5_0,port=1} 64',
        'node_infiniband_rate_bytes_per_second{device=mlx5_0,port=1} 312500000',
        'node_infiniband_state_id{device=mlx5_0,port=1} 4',
      ],
      problems: [],
    })
  })

  it('reports garbage and sends the rest', () => {
    const { series, problems } = run({
      ...PORT,
      'mlx5_0/ports/1/counters/link_downed': 'lots\n',
      'mlx5_0/ports/1/counters/link_error_recovery': '1\n',
      'mlx5_0/ports/2/state': 'ACTIVE\n',
      'mlx5_0/ports/2/phys_state': '5: LinkUp\n',
      'mlx5_0/ports/2/rate': '100 Gb/sec (4X EDR)\n',
      'mlx5_0/ports/eth/state': '4: ACTIVE\n',
      'broken0/board_id': 'x\n',
    })
    expect(problems).toHaveLength(4)
    expect(problems.join('\n')).toMatch(/broken0\/fw_ver: .*device skipped/)
    expect(problems.join('\n')).toMatch(/ports\/1\/counters\/link_downed: not an unsigned integer: "lots"/)
    expect(problems.join('\n')).toMatch(/ports\/2\/state: not parsed: "ACTIVE"; port skipped/)
    expect(problems.join('\n')).toMatch(/ports\/eth: not a port number/)
    expect(series).toEqual([
      'node_infiniband_info{device=mlx5_0,board_id=,firmware_version=16.35.2000,hca_type=} 1',
      'node_infiniband_link_error_recovery_total{device=mlx5_0,port=1} 1',
      'node_infiniband_physical_state_id{device=mlx5_0,port=1} 5',
      'node_infiniband_rate_bytes_per_second{device=mlx5_0,port=1} 312500000',
      'node_infiniband_state_id{device=mlx5_0,port=1} 4',
    ])
  })
})
