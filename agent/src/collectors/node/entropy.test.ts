import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader } from './collector.ts'
import { entropy } from './entropy.ts'

const roots: string[] = []

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

/** The files under proc/ → `name{labels} value` per point (undefined when absent) and the problems. */
function run(files: Record<string, string>): { series: string[] | undefined; problems: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'entropy-test-'))
  roots.push(root)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'proc', path)), { recursive: true })
    writeFileSync(join(root, 'proc', path), text)
  }
  const problems: string[] = []
  const series: string[] = []
  const fs = new NodeFileReader()
  try {
    const reader = entropy.open({
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

describe('entropy', () => {
  it('is absent, without a problem, when there is no entropy_avail', () => {
    expect(run({ 'sys/kernel/random/poolsize': '4096\n' })).toEqual({ series: undefined, problems: [] })
  })

  it('sends the available bits alone on a kernel without poolsize', () => {
    expect(run({ 'sys/kernel/random/entropy_avail': '256\n' })).toEqual({
      series: ['node_entropy_available_bits{} 256'],
      problems: [],
    })
  })

  it('reports a value it cannot read and sends the other', () => {
    const { series, problems } = run({
      'sys/kernel/random/entropy_avail': '-3\n',
      'sys/kernel/random/poolsize': '4096\n',
    })
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain('entropy_avail: expected a number, got "-3"')
    expect(series).toEqual(['node_entropy_pool_size_bits{} 4096'])
  })
})
