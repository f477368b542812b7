import { describe, expect, it } from 'vitest'
import { bonding } from './bonding.ts'
import { collectSeries, type Series, tempTree, under } from './testing.ts'

/** The files under sys/class/net → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): Series {
  return collectSeries(bonding, tempTree(under('sys/class/net', files)), { sort: true })
}

describe('bonding', () => {
  it('is absent, without a problem, when the bonding driver is not loaded', () => {
    expect(run({ 'eth0/mtu': '1500\n' })).toEqual({ series: undefined, problems: [] })
  })

  it('counts slaves and those up, through lower_ or the older slave_ links', () => {
    expect(
      run({
        bonding_masters: 'bond0 bond1\n',
        'bond0/bonding/slaves': 'eth0 eth1\n',
        'bond0/lower_eth0/bonding_slave/mii_status': 'up\n',
        'bond0/slave_eth1/bonding_slave/mii_status': 'down\n',
        'bond1/bonding/slaves': '\n',
      }),
    ).toEqual({
      series: [
        'node_bonding_active{master=bond0} 1',
        'node_bonding_active{master=bond1} 0',
        'node_bonding_slaves{master=bond0} 2',
        'node_bonding_slaves{master=bond1} 0',
      ],
      problems: [],
    })
  })

  it('reports a master with a slave it cannot find and sends the others', () => {
    const { series, problems } = run({
      bonding_masters: 'bond0 bond1 gone\n',
      'bond0/bonding/slaves': 'eth0 eth9\n',
      'bond0/lower_eth0/bonding_slave/mii_status': 'up\n',
      'bond1/bonding/slaves': 'eth2\n',
      'bond1/lower_eth2/bonding_slave/mii_status': 'up\n',
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(
      /bond0: slave eth9 has no lower_eth9\/ or slave_eth9\/bonding_slave\/mii_status/,
    )
    expect(series).toEqual(['node_bonding_active{master=bond1} 1', 'node_bonding_slaves{master=bond1} 1'])
  })
})
