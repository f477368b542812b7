import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { NodeFileReader, type FileReader } from './collector.ts'
import { processes } from './processes.ts'

/** Every tree a test made (some make several); the last one is `root`. */
const trees: string[] = []
let root = ''

afterEach(() => {
  for (const tree of trees.splice(0)) rmSync(tree, { recursive: true, force: true })
})

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'processes-test-'))
  trees.push(root)
  mkdirSync(join(root, 'proc'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  return join(root, 'proc')
}

/** Each series as `name{labels} value`, for short expectations; undefined when absent. */
function run(
  procfs: string,
  fs: FileReader = new NodeFileReader(),
): { series: string[] | undefined; problems: string[] } {
  const problems: string[] = []
  const series: string[] = []
  try {
    const reader = processes.open({
      paths: { procfs, sysfs: join(root, 'sys'), rootfs: root, udevData: join(root, 'udev') },
      options: {},
      problem: (p) => problems.push(p),
      fs,
    })
    const result = reader.collect((name, labels, value) => {
      series.push(`${name}${JSON.stringify(labels)} ${String(value)}`)
    })
    return { series: result === 'absent' ? undefined : series, problems }
  } finally {
    if (fs instanceof NodeFileReader) fs.close()
  }
}

/** A /proc/<pid>/stat line: fields after the command up to num_threads, then a few more. */
const stat = (pid: number, comm: string, state: string, threads: number): string =>
  `${String(pid)} (${comm}) ${state} 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 ${String(threads)} 0 29 0 0\n`

describe('processes', () => {
  it('is absent when the procfs root is missing', () => {
    tree({})
    expect(run(join(root, 'no-such-proc'))).toEqual({ series: undefined, problems: [] })
  })

  it('counts processes and threads by state, the main thread taking its process state', () => {
    const procfs = tree({
      'proc/1/stat': stat(1, 'init', 'S', 1),
      // A command with spaces and parentheses: the fields start after the last `)`.
      'proc/42/stat': stat(42, 'a (weird) name', 'R', 3),
      'proc/42/task/42/stat': stat(42, 'a (weird) name', 'Z', 3),
      'proc/42/task/43/stat': stat(43, 'worker', 'D', 3),
      'proc/42/task/44/stat': stat(44, 'worker', 'S', 3),
      'proc/sys/kernel/pid_max': '4194304\n',
      'proc/sys/kernel/threads-max': '126000\n',
      'proc/self': '42',
    })
    const { series, problems } = run(procfs)
    expect(problems).toEqual([])
    expect(series).toEqual([
      'node_processes_threads{} 4',
      'node_processes_max_threads{} 126000',
      'node_processes_state{"state":"S"} 1',
      'node_processes_state{"state":"R"} 1',
      'node_processes_threads_state{"thread_state":"R"} 1',
      'node_processes_threads_state{"thread_state":"D"} 1',
      'node_processes_threads_state{"thread_state":"S"} 1',
      'node_processes_pids{} 2',
      'node_processes_max_processes{} 4194304',
    ])
  })

  it('reports a stat it cannot parse and counts the rest; a process gone since the listing is skipped', () => {
    const procfs = tree({
      'proc/1/stat': stat(1, 'init', 'S', 1),
      'proc/2/stat': 'garbage without a command\n',
      'proc/3/stat': '3 (short) S 1 1\n',
      'proc/4/cmdline': '',
      'proc/sys/kernel/threads-max': 'lots\n',
    })
    const { series, problems } = run(procfs)
    expect(problems).toHaveLength(3)
    expect(problems[0]).toContain('2/stat: no (command)')
    expect(problems[1]).toContain('3/stat: no state or thread count')
    expect(problems[2]).toContain('threads-max: not a count: "lots"')
    // pid_max is missing (no such file): that series alone is left out.
    expect(series).toEqual([
      'node_processes_threads{} 1',
      'node_processes_state{"state":"S"} 1',
      'node_processes_pids{} 1',
    ])
  })

  it('reads a stat again after ESRCH (its kept-open file outlived the task) and skips a task that is gone', () => {
    const errno = (code: string): Error => Object.assign(new Error(code), { code })
    const reads = new Map<string, number>()
    const fs: FileReader = {
      readDir: (path) => (path === '/proc' ? ['7', '8', 'sys'] : []),
      readText: (path) => {
        const n = (reads.get(path) ?? 0) + 1
        reads.set(path, n)
        if (path === '/proc/7/stat') {
          if (n === 1) throw errno('ESRCH')
          return stat(7, 'reused', 'R', 1)
        }
        if (path === '/proc/8/stat') throw errno(n === 1 ? 'ESRCH' : 'ENOENT')
        throw errno('ENOENT')
      },
      readLink: () => '',
      exists: () => false,
      isDir: () => false,
    }
    expect(run('/proc', fs)).toEqual({
      series: [
        'node_processes_threads{} 1',
        'node_processes_state{"state":"R"} 1',
        'node_processes_pids{} 1',
      ],
      problems: [],
    })
    expect(reads.get('/proc/8/stat')).toBe(2)
  })
})
