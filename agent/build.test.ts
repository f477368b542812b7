import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { PROC_FAMILIES } from '#schemas/src/families.ts'
import { buildAgent } from './build.ts'

const FIXTURE = fileURLToPath(new URL('./src/collectors/__fixtures__/live-t0/proc/', import.meta.url))
const out = mkdtempSync(join(tmpdir(), 'procstream-agent-build-'))
afterAll(() => {
  rmSync(out, { recursive: true, force: true })
})

describe('the bundled agent', () => {
  it('runs under plain node, schemas beside it, and samples every family of a fixture tree', async () => {
    const file = await buildAgent(`${out}/`)
    const stdout = execFileSync(process.execPath, [file, '--once', '--format', 'json', '--procfs', FIXTURE], {
      encoding: 'utf8',
      env: { ...process.env, AGENT_HOST_ID: 'bundle-test' },
    })
    const envelopes = stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            host_id: string
            sample: { family: string; data: { fields?: Record<string, number> } }
          },
      )
    // Filesystems are statfs'd on this machine's mounts, which the fixture's mount table may not match.
    const families = new Set(envelopes.map((e) => e.sample.family))
    for (const f of PROC_FAMILIES) if (f !== 'filesystem') expect(families, f).toContain(f)
    expect(envelopes.every((e) => e.host_id === 'bundle-test')).toBe(true)
    const memory = envelopes.find((e) => e.sample.family === 'memory')
    expect(memory?.sample.data.fields?.MemTotal).toBe(24_684_096 * 1024)
  }, 60_000)
})
