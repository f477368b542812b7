import { describe, expect, it } from 'vitest'
import { nvme } from './nvme.ts'
import { collectSeries, type Series, tempTree } from './testing.ts'

const tree = (files: Record<string, string>): string => tempTree(files)

/** Each series as `name{labels} value`. */
const run = (root: string): Series => collectSeries(nvme, root, { via: 'agent', format: 'json' })

const controller = (name: string): Record<string, string> => ({
  [`sys/class/nvme/${name}/firmware_rev`]: 'FW1 \n',
  [`sys/class/nvme/${name}/model`]: 'Model X                                 \n',
  [`sys/class/nvme/${name}/serial`]: 'S1\n',
  [`sys/class/nvme/${name}/state`]: 'live\n',
  [`sys/class/nvme/${name}/cntlid`]: '4\n',
})

describe('nvme', () => {
  it('is absent without /sys/class/nvme', () => {
    expect(run(tree({}))).toEqual({ series: undefined, problems: [] })
  })

  it('skips a controller missing its identity and a namespace whose sizes do not parse', () => {
    const { series, problems } = run(
      tree({
        ...controller('nvme0'),
        'sys/class/nvme/nvme1/model': 'half a controller\n',
        // A multipath path name, without ana_state; sizes past 2^53 bytes stay exact until the float.
        'sys/class/nvme/nvme0/nvme0c0n1/size': '9007199254740993\n',
        'sys/class/nvme/nvme0/nvme0c0n1/nuse': '1\n',
        'sys/class/nvme/nvme0/nvme0c0n1/queue/logical_block_size': '4096\n',
        'sys/class/nvme/nvme0/nvme0n2/size': 'big\n',
        'sys/class/nvme/nvme0/nvme0n2/nuse': '1\n',
        'sys/class/nvme/nvme0/nvme0n2/queue/logical_block_size': '512\n',
        'sys/class/nvme/nvme0/power/control': 'auto\n',
      }),
    )
    expect(problems).toEqual([
      expect.stringContaining('nvme0n2/size: not a number: "big"'),
      expect.stringContaining('nvme1: firmware_rev, model, serial, state or cntlid missing'),
    ])
    const bytes = String(Number(9007199254740993n * 4096n))
    expect(series).toEqual([
      'node_nvme_info{"device":"nvme0","firmware_revision":"FW1","model":"Model X","serial":"S1","state":"live","cntlid":"4"} 1',
      'node_nvme_namespace_info{"device":"nvme0","nsid":"1","ana_state":"unknown"} 1',
      `node_nvme_namespace_capacity_bytes{"device":"nvme0","nsid":"1"} ${bytes}`,
      `node_nvme_namespace_size_bytes{"device":"nvme0","nsid":"1"} ${bytes}`,
      'node_nvme_namespace_used_bytes{"device":"nvme0","nsid":"1"} 4096',
      'node_nvme_namespace_logical_block_size_bytes{"device":"nvme0","nsid":"1"} 4096',
    ])
  })
})
