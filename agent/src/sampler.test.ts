import { cpSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { PROC_FAMILIES } from '#schemas/src/families.ts'
import type { StatfsResult } from './collectors/filesystem.ts'
import { Sampler } from './sampler.ts'

const LIVE_T0 = fileURLToPath(new URL('./collectors/__fixtures__/live-t0/proc/', import.meta.url))
const STATFS: StatfsResult = { bsize: 4096, blocks: 100, bfree: 50, bavail: 40, files: 10, ffree: 5 }

const trees: string[] = []
afterAll(() => {
  for (const dir of trees) rmSync(dir, { recursive: true, force: true })
})

/** A writable copy of the live-t0 fixture tree, so a test can take files away. */
function procTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sampler-proc-'))
  trees.push(dir)
  cpSync(LIVE_T0, dir, { recursive: true })
  return dir
}

function recordingSampler(
  procfs: string,
  statfs?: (path: string) => StatfsResult,
): { sampler: Sampler; problems: [string, string][] } {
  const problems: [string, string][] = []
  const sampler = new Sampler(procfs, (family, problem) => problems.push([family, problem]), {
    statfs: statfs ?? (() => STATFS),
  })
  return { sampler, problems }
}

describe('Sampler', () => {
  it('samples every family from a fixture tree', () => {
    const { sampler, problems } = recordingSampler(LIVE_T0)
    for (const family of PROC_FAMILIES) expect(sampler.sample(family)?.family, family).toBe(family)
    expect(problems).toEqual([])
    expect(sampler.stats).toMatchObject({ samples: PROC_FAMILIES.length, parseErrors: 0, readErrors: 0 })
    expect(Object.values(sampler.stats.parseErrorsByFamily)).toEqual(PROC_FAMILIES.map(() => 0))
    sampler.close()
  })

  it('gives no pressure sample and no problem on a kernel without PSI, and picks it up once it appears', () => {
    const dir = procTree()
    rmSync(join(dir, 'pressure'), { recursive: true })
    const { sampler, problems } = recordingSampler(dir)
    expect(sampler.sample('pressure')).toBeUndefined()
    expect(problems).toEqual([])
    expect(sampler.stats.readErrors).toBe(0)
    cpSync(join(LIVE_T0, 'pressure'), join(dir, 'pressure'), { recursive: true })
    const sample = sampler.sample('pressure')
    expect(sample?.family === 'pressure' && sample.data.io.some.total_us).toBe(1150812)
    sampler.close()
  })

  it('reads the three pressure files through descriptors it keeps open', () => {
    const dir = procTree()
    const { sampler } = recordingSampler(dir)
    expect(sampler.sample('pressure')).toBeDefined()
    // An unlinked file stays readable through an open descriptor, and only through one.
    for (const r of ['cpu', 'memory', 'io']) unlinkSync(join(dir, 'pressure', r))
    const again = sampler.sample('pressure')
    expect(again?.family === 'pressure' && again.data.cpu.some.total_us).toBe(7230773)
    sampler.close()
  })

  it('counts a missing file of another family as a read error and names it', () => {
    const dir = procTree()
    unlinkSync(join(dir, 'vmstat'))
    const { sampler, problems } = recordingSampler(dir)
    expect(sampler.sample('vmstat')).toBeUndefined()
    expect(sampler.stats.readErrors).toBe(1)
    expect(sampler.stats.readErrorsByFamily).toMatchObject({ vmstat: 1, cpu: 0 })
    expect(problems[0]?.[0]).toBe('vmstat')
    expect(problems[0]?.[1]).toContain(join(dir, 'vmstat'))
    sampler.close()
  })

  it('reads PID 1’s mount table, else falls back to <procfs>/mounts', () => {
    const dir = procTree()
    const statfsed: string[] = []
    const { sampler } = recordingSampler(dir, (path) => {
      statfsed.push(path)
      return STATFS
    })
    sampler.sample('filesystem')
    expect(statfsed).toEqual(['/'])
    mkdirSync(join(dir, '1'))
    writeFileSync(join(dir, '1', 'mounts'), '/dev/vdb /data xfs ro 0 0\n')
    const fresh = recordingSampler(dir, (path) => {
      statfsed.push(path)
      return STATFS
    }).sampler
    const sample = fresh.sample('filesystem')
    expect(sample?.family === 'filesystem' && sample.data.filesystems).toEqual([
      {
        device: '/dev/vdb',
        mountpoint: '/data',
        fstype: 'xfs',
        readonly: true,
        error: null,
        statfs: {
          block_size: 4096,
          blocks: 100,
          blocks_free: 50,
          blocks_avail: 40,
          files: 10,
          files_free: 5,
        },
      },
    ])
    sampler.close()
    fresh.close()
  })

  it('samples every family of this machine’s /proc, / among the filesystems', () => {
    const problems: string[] = []
    const sampler = new Sampler('/proc', (family, problem) => problems.push(`${family}: ${problem}`))
    const families = PROC_FAMILIES.map((f) => sampler.sample(f)?.family)
    expect(problems).toEqual([])
    // This kernel has PSI; one without it would simply lack the pressure sample.
    expect(families).toEqual(PROC_FAMILIES)
    const fs = sampler.sample('filesystem')
    const root =
      fs?.family === 'filesystem' ? fs.data.filesystems.find((f) => f.mountpoint === '/') : undefined
    expect(root?.statfs?.blocks).toBeGreaterThan(0)
    sampler.close()
  })
})
