import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { expectedExposition, parseExposition } from '#test/support/node-exporter-fixture.ts'
import { formatMetricPoints } from '../../format/prometheus.ts'
import { NodeCollectors } from '../../node-collectors.ts'
import { os } from './os.ts'

let root = ''

afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'os-test-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  return root
}

function run(rootfs: string): { text: string | undefined; problems: string[] } {
  const problems: string[] = []
  const collectors = new NodeCollectors({
    paths: {
      procfs: join(rootfs, 'proc'),
      sysfs: join(rootfs, 'sys'),
      rootfs,
      udevData: join(rootfs, 'udev'),
    },
    onProblem: (_c, p) => problems.push(p),
    collectors: [os],
  })
  const sample = collectors.collect('os')
  collectors.close()
  const points = sample?.metrics.flatMap((f) => f.series.map((s) => ({ name: f.name, ...s })))
  return { text: points && formatMetricPoints(points), problems }
}

/** node_exporter's collector/fixtures/usr/lib/os-release, which the shared fixture tree lacks. */
const UBUNTU = `NAME="Ubuntu"
VERSION="20.04.2 LTS (Focal Fossa)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 20.04.2 LTS"
VERSION_ID="20.04"
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
VERSION_CODENAME=focal
UBUNTU_CODENAME=focal
`

describe('os', () => {
  it('is absent without an os-release file', () => {
    expect(run(tree({}))).toEqual({ text: undefined, problems: [] })
  })

  it('prints what node_exporter’s end-to-end test expects from its usr/lib/os-release', () => {
    const { text, problems } = run(tree({ 'usr/lib/os-release': UBUNTU }))
    expect(problems).toEqual([])
    const expected = expectedExposition()
    const actual = parseExposition(text ?? '')
    expect([...actual.keys()]).toEqual(['node_os_info', 'node_os_version'])
    for (const [name, family] of actual) expect(family).toEqual(expected.get(name))
  })

  it('prefers /etc/os-release, reads quotes, escapes and comments, and reports lines it cannot parse', () => {
    const { text, problems } = run(
      tree({
        'usr/lib/os-release': 'NAME=ignored\n',
        'etc/os-release': [
          '# a comment',
          'export NAME="Some \\"Linux\\""',
          "ID='some os'",
          'VERSION_ID=7 # trailing comment',
          'this line has no equals sign',
          'PRETTY_NAME="unterminated',
          '1BAD=key',
          'SUPPORT_END=2031-06-30',
          '',
        ].join('\n'),
      }),
    )
    expect(problems).toHaveLength(3)
    expect(problems[0]).toContain('no "="')
    expect(problems[1]).toContain('unmatched "')
    expect(problems[2]).toContain('key')
    expect(text).toContain('name="Some \\"Linux\\""')
    expect(text).toContain('id="some os"')
    expect(text).toContain('pretty_name=""')
    expect(text).toContain('node_os_version{id="some os",id_like="",name="Some \\"Linux\\""} 7\n')
    // 2031-06-30T00:00:00Z, printed as Go prints the float.
    expect(text).toContain('node_os_support_end_timestamp_seconds 1.940544e+09\n')
  })

  it('reports a SUPPORT_END that is no date and leaves out a version without major.minor', () => {
    const { text, problems } = run(
      tree({ 'etc/os-release': 'ID=rolling\nVERSION_ID=rolling\nSUPPORT_END=2031-02-30\n' }),
    )
    expect(problems).toEqual([expect.stringContaining('SUPPORT_END "2031-02-30" is not a date')])
    expect(text).toContain('node_os_info{')
    expect(text).not.toContain('node_os_version')
    expect(text).not.toContain('node_os_support_end_timestamp_seconds')
  })
})
