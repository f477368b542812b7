import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { interrupts } from './interrupts.ts'

/** Every tree a test made (some make several); the last one is `root`. */
const trees: string[] = []
let root = ''

afterEach(() => {
  for (const tree of trees.splice(0)) rmSync(tree, { recursive: true, force: true })
})

/** Each series as `cpu type info|devices value`, for short expectations; undefined when absent. */
function run(
  text: string | undefined,
  options: Record<string, string> = {},
): { series: string[] | undefined; problems: string[] } {
  root = mkdtempSync(join(tmpdir(), 'interrupts-test-'))
  trees.push(root)
  mkdirSync(join(root, 'proc'))
  if (text !== undefined) writeFileSync(join(root, 'proc', 'interrupts'), text)
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = interrupts.open({
      paths: {
        procfs: join(root, 'proc'),
        sysfs: join(root, 'sys'),
        rootfs: root,
        udevData: join(root, 'udev'),
      },
      options: { 'name-include': '', 'name-exclude': '', 'include-zeros': 'true', ...options },
      problem: (p) => problems.push(p),
      fs,
    })
    const result = reader.collect((_name, l, value) => {
      series.push(`${l.cpu ?? ''} ${l.type ?? ''} ${l.info ?? ''}|${l.devices ?? ''} ${String(value)}`)
    })
    return { series: result === 'absent' ? undefined : series, problems }
  } finally {
    fs.close()
  }
}

const X86 = [
  '           CPU0       CPU1       ',
  '  0:         18          0  IR-IO-APIC    2-edge      timer',
  ' 16:     328511        x12  IR-IO-APIC   16-fasteoi   ehci_hcd:usb1, mmc0',
  'NMI:         47       5031   Non-maskable interrupts',
  'ERR:          0',
  'MIS:          0',
  '',
].join('\n')

describe('interrupts', () => {
  it('is absent, without a problem, when there is no /proc/interrupts', () => {
    expect(run(undefined)).toEqual({ series: undefined, problems: [] })
  })

  it('reports a count it cannot read and keeps the others; ERR and MIS (one total) are left out', () => {
    const { series, problems } = run(X86)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('16: not a count for CPU 1: "x12"')
    expect(series).toEqual([
      '0 0 IR-IO-APIC|2-edge timer 18',
      '1 0 IR-IO-APIC|2-edge timer 0',
      '0 16 IR-IO-APIC|16-fasteoi ehci_hcd:usb1, mmc0 328511',
      '0 NMI Non-maskable interrupts| 47',
      '1 NMI Non-maskable interrupts| 5031',
    ])
  })

  it('reports a file without its CPU header', () => {
    const { series, problems } = run('')
    expect(series).toEqual([])
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('no CPU header line')
  })

  it('reads aarch64 names run into their counts', () => {
    const { series } = run(['     CPU0  CPU1', 'IPI0:12 34  Rescheduling interrupts', ''].join('\n'))
    expect(series).toEqual(['0 IPI0 Rescheduling interrupts| 12', '1 IPI0 Rescheduling interrupts| 34'])
  })

  it('filters on `<type>;<info>;<devices>`, unanchored, and can leave out zero counts', () => {
    expect(run(X86, { 'name-exclude': ' timer$|^NMI;' }).series).toEqual([
      '0 16 IR-IO-APIC|16-fasteoi ehci_hcd:usb1, mmc0 328511',
    ])
    expect(run(X86, { 'name-include': 'usb1', 'include-zeros': 'false' }).series).toEqual([
      '0 16 IR-IO-APIC|16-fasteoi ehci_hcd:usb1, mmc0 328511',
    ])
    expect(run(X86, { 'include-zeros': 'false' }).series).not.toContain('1 0 IR-IO-APIC|2-edge timer 0')
  })

  it('refuses an include-zeros that is neither true nor false', () => {
    expect(() => run(X86, { 'include-zeros': 'yes' })).toThrow(/include-zeros: expected true or false/)
  })
})
