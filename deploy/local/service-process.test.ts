import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ManagedProcess, likelyCause, probeCommand, tailLines, waitUntilReady } from './service-process.ts'

describe('service-process', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'procstream-sp-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('picks the last error-looking line as the likely cause', () => {
    expect(likelyCause(['INFO starting', 'ERROR bad config x', 'INFO shutting down'])).toBe(
      'ERROR bad config x',
    )
    expect(likelyCause(['[1] [FTL] listen tcp: address in use', '[1] [INF] bye'])).toBe(
      '[1] [FTL] listen tcp: address in use',
    )
    expect(likelyCause(['just this'])).toBe('just this')
    expect(
      likelyCause([
        'INFO loading',
        'ERROR Exiting Kafka due to fatal exception (Kafka$)',
        "java.lang.RuntimeException: Stored node id 7 doesn't match previous node id 1",
        '\tat org.apache.kafka.Foo.verify(Foo.java:513)',
      ]),
    ).toBe("java.lang.RuntimeException: Stored node id 7 doesn't match previous node id 1")
    expect(likelyCause([])).toBe('(log is empty)')
  })

  it('tails the non-empty lines of a file, and nothing for a missing one', async () => {
    const f = join(dir, 'a.log')
    await writeFile(f, 'one\n\ntwo\nthree\n')
    expect(await tailLines(f, 2)).toEqual(['two', 'three'])
    expect(await tailLines(join(dir, 'missing.log'), 5)).toEqual([])
  })

  it('tells a missing command apart from one that runs', async () => {
    expect(await probeCommand('procstream-no-such-binary', [])).toBeNull()
    expect(await probeCommand('sh', ['-c', 'echo hi'])).toBe('hi\n')
  })

  it('appends the child output to the log file and reports its exit', async () => {
    const logFile = join(dir, 'child.log')
    await writeFile(logFile, 'earlier\n')
    const p = await ManagedProcess.start({
      command: 'sh',
      args: ['-c', 'echo out; echo err >&2; exit 3'],
      logFile,
      errorCode: 'TEST_START',
      what: 'test child',
    })
    expect(await p.exited).toEqual({ code: 3, signal: null })
    expect(p.running).toBe(false)
    expect((await readFile(logFile, 'utf8')).split('\n').sort()).toEqual(['', 'earlier', 'err', 'out'])
  })

  it('stops with SIGTERM, escalating to SIGKILL when the child ignores it', async () => {
    const logFile = join(dir, 'child.log')
    const polite = await ManagedProcess.start({
      command: 'sleep',
      args: ['30'],
      logFile,
      errorCode: 'T',
      what: 't',
    })
    expect(await polite.stop(5_000)).toEqual({ code: null, signal: 'SIGTERM' })

    const stubborn = await ManagedProcess.start({
      command: 'sh',
      args: ['-c', 'trap "" TERM; echo trapped; exec sleep 30'],
      logFile,
      errorCode: 'T',
      what: 't',
    })
    // Only once the trap is set does SIGTERM get ignored.
    while (!(await tailLines(logFile, 5)).includes('trapped')) await new Promise((r) => setTimeout(r, 10))
    const started = Date.now()
    expect(await stubborn.stop(300)).toEqual({ code: null, signal: 'SIGKILL' })
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('fails readiness as soon as the process exits, not at the deadline', async () => {
    const logFile = join(dir, 'child.log')
    const p = await ManagedProcess.start({
      command: 'sh',
      args: ['-c', 'exit 1'],
      logFile,
      errorCode: 'T',
      what: 't',
    })
    const started = Date.now()
    await expect(
      waitUntilReady({
        process: p,
        probe: () => Promise.resolve(false),
        timeoutMs: 30_000,
        intervalMs: 20,
        onExit: (e) => Promise.resolve(new Error(`exited ${e.code}`)),
        onTimeout: () => Promise.resolve(new Error('timeout')),
      }),
    ).rejects.toThrow('exited 1')
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('fails readiness at the deadline while the process keeps running', async () => {
    const logFile = join(dir, 'child.log')
    const p = await ManagedProcess.start({
      command: 'sleep',
      args: ['30'],
      logFile,
      errorCode: 'T',
      what: 't',
    })
    try {
      await expect(
        waitUntilReady({
          process: p,
          probe: () => Promise.resolve(false),
          timeoutMs: 200,
          intervalMs: 20,
          onExit: () => Promise.resolve(new Error('exited')),
          onTimeout: () => Promise.resolve(new Error('timeout')),
        }),
      ).rejects.toThrow('timeout')
    } finally {
      await p.stop(2_000)
    }
  })
})
