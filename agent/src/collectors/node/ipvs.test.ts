import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { ipvs, parseBackendLabels } from './ipvs.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

const STATS = `   Total Incoming Outgoing         Incoming         Outgoing
   Conns  Packets  Packets            Bytes            Bytes
      1A       FF        0     51D8C8883AB3                2

 Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s
       4    1FB3C        0          1282A8F                0
`

const HEADER = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
`

/** /proc/net files (name → content) → `name{labels} value` per point (undefined when absent) and the problems. */
function run(
  files: Record<string, string>,
  backendLabels?: string,
): { series: string[] | undefined; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'ipvs-test-'))
  roots.push(root)
  mkdirSync(join(root, 'proc/net'), { recursive: true })
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'proc/net', name), text)
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = ipvs.open({
      paths: {
        procfs: join(root, 'proc'),
        sysfs: join(root, 'sys'),
        rootfs: root,
        udevData: join(root, 'udev'),
      },
      options: backendLabels === undefined ? {} : { 'backend-labels': backendLabels },
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

describe('ipvs', () => {
  it('is absent, without a problem, when the ip_vs module is not loaded', () => {
    expect(run({})).toEqual({ series: undefined, problems: [] })
  })

  it('sends the totals and the real servers, IPv6 as Go prints it', () => {
    const { series, problems } = run({
      ip_vs_stats: STATS,
      ip_vs: `${HEADER}TCP  [2620:0000:0000:0000:0000:0000:0000:0001]:0050 sh
  -> [2620:0000:0000:0000:0000:ffff:0a00:0001]:0050      Masq    1      2          3
  -> [0000:0000:0000:0000:0000:ffff:0a00:0002]:0050      Masq    4      5          6
SCTP  0A000001:0BB8 rr
  -> 0A000002:0BB8      Route   7      8          9
`,
    })
    expect(problems).toEqual([])
    const local = 'local_address=2620::1,local_port=80'
    expect(series).toEqual([
      'node_ipvs_backend_connections_active{local_address=10.0.0.1,local_port=3000,remote_address=10.0.0.2,remote_port=3000,proto=SCTP,local_mark=} 8',
      `node_ipvs_backend_connections_active{${local},remote_address=10.0.0.2,remote_port=80,proto=TCP,local_mark=} 5`,
      `node_ipvs_backend_connections_active{${local},remote_address=2620::ffff:a00:1,remote_port=80,proto=TCP,local_mark=} 2`,
      'node_ipvs_backend_connections_inactive{local_address=10.0.0.1,local_port=3000,remote_address=10.0.0.2,remote_port=3000,proto=SCTP,local_mark=} 9',
      `node_ipvs_backend_connections_inactive{${local},remote_address=10.0.0.2,remote_port=80,proto=TCP,local_mark=} 6`,
      `node_ipvs_backend_connections_inactive{${local},remote_address=2620::ffff:a00:1,remote_port=80,proto=TCP,local_mark=} 3`,
      'node_ipvs_backend_weight{local_address=10.0.0.1,local_port=3000,remote_address=10.0.0.2,remote_port=3000,proto=SCTP,local_mark=} 7',
      `node_ipvs_backend_weight{${local},remote_address=10.0.0.2,remote_port=80,proto=TCP,local_mark=} 4`,
      `node_ipvs_backend_weight{${local},remote_address=2620::ffff:a00:1,remote_port=80,proto=TCP,local_mark=} 1`,
      'node_ipvs_connections_total{} 26',
      'node_ipvs_incoming_bytes_total{} 89991519156915',
      'node_ipvs_incoming_packets_total{} 255',
      'node_ipvs_outgoing_bytes_total{} 2',
      'node_ipvs_outgoing_packets_total{} 0',
    ])
  })

  it('sums the real servers that share the kept labels', () => {
    const { series } = run(
      {
        ip_vs_stats: STATS,
        ip_vs: `${HEADER}TCP  C0A80016:0CEA wlc
  -> C0A85216:0CEA      Tunnel  100    248        2
  -> C0A85318:0CEA      Tunnel  100    248        2
FWM  10001000 wlc
  -> C0A8321A:0CEA      Tunnel  20     64         1
`,
      },
      'proto',
    )
    expect(series?.filter((s) => s.includes('backend_weight'))).toEqual([
      'node_ipvs_backend_weight{proto=FWM} 20',
      'node_ipvs_backend_weight{proto=TCP} 200',
    ])
  })

  it('refuses unknown backend labels at open, as node_exporter at start-up', () => {
    expect(() => parseBackendLabels('proto,nope,zone')).toThrow('unknown IPVS backend labels: "nope, zone"')
    expect(parseBackendLabels('local_mark,,proto')).toEqual(['proto', 'local_mark'])
  })

  it('reports garbage and sends the rest', () => {
    const { series, problems } = run({
      ip_vs_stats: 'garbage\n',
      ip_vs: `${HEADER}TCP  nothex:0CEA wlc
  -> C0A85216:0CEA      Tunnel  100    248        2
UDP  C0A80016:0035 rr
  -> C0A85216:0035      Tunnel  -1     1          2
  -> C0A85217:0035      Tunnel  5      1          2
`,
    })
    expect(problems).toHaveLength(3)
    expect(problems[0]).toMatch(/ip_vs_stats: too short/)
    expect(problems[1]).toMatch(
      /ip_vs: virtual service not parsed, its real servers skipped: "TCP {2}nothex:0CEA wlc"/,
    )
    expect(problems[2]).toMatch(/ip_vs: real server not parsed: .*-1/)
    expect(series).toEqual([
      'node_ipvs_backend_connections_active{local_address=192.168.0.22,local_port=53,remote_address=192.168.82.23,remote_port=53,proto=UDP,local_mark=} 1',
      'node_ipvs_backend_connections_inactive{local_address=192.168.0.22,local_port=53,remote_address=192.168.82.23,remote_port=53,proto=UDP,local_mark=} 2',
      'node_ipvs_backend_weight{local_address=192.168.0.22,local_port=53,remote_address=192.168.82.23,remote_port=53,proto=UDP,local_mark=} 5',
    ])
  })
})
