import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AgentError } from '../errors.ts'
import { ProcFile } from './proc-file.ts'

describe('ProcFile', () => {
  it('re-reads the current content through one open descriptor, growing its buffer for large files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'procfile-'))
    const path = join(dir, 'stat')
    writeFileSync(path, 'a'.repeat(100))
    const f = new ProcFile(path, 16)
    expect(f.read()).toBe('a'.repeat(100))
    writeFileSync(path, 'second')
    expect(f.read()).toBe('second')
    f.close()
  })

  it('reads the live /proc/loadavg', () => {
    const f = new ProcFile('/proc/loadavg')
    expect(f.read()).toMatch(/^\d+\.\d+ \d+\.\d+ \d+\.\d+ \d+\/\d+ \d+\n$/)
    f.close()
  })

  it('names the file when it cannot be opened, as a retryable agent error', () => {
    const f = new ProcFile('/nonexistent/proc/stat')
    expect(() => f.read()).toThrow(AgentError)
    expect(() => f.read()).toThrow(/\/nonexistent\/proc\/stat/)
  })
})
