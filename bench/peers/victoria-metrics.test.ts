import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ensureVictoriaMetrics, VICTORIA_METRICS_VERSION } from './victoria-metrics.ts'

describe('building the VictoriaMetrics peer', () => {
  let dir: string
  const saved = { GOPROXY: process.env.GOPROXY, GOMODCACHE: process.env.GOMODCACHE }
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'procstream-peer-test-'))
  })
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k)
      else process.env[k] = v
    }
    rmSync(dir, { recursive: true, force: true })
  })

  it('reuses a completed build without running go', async () => {
    const versionDir = join(dir, 'victoria-metrics', VICTORIA_METRICS_VERSION)
    mkdirSync(versionDir, { recursive: true })
    // Stands in for the built binary: only its presence and the marker are read here.
    writeFileSync(join(versionDir, 'victoria-metrics'), '#!/bin/sh\n')
    chmodSync(join(versionDir, 'victoria-metrics'), 0o755)
    writeFileSync(join(versionDir, '.complete'), `${VICTORIA_METRICS_VERSION}\n`)
    // A go that does not exist: any attempt to build would fail with PEER_GO_MISSING.
    await expect(ensureVictoriaMetrics({ cacheDir: dir, go: join(dir, 'no-go') })).resolves.toBe(
      join(versionDir, 'victoria-metrics'),
    )
  })

  it('says so when there is no Go toolchain, and leaves no binary behind', async () => {
    await expect(ensureVictoriaMetrics({ cacheDir: dir, go: join(dir, 'no-go') })).rejects.toMatchObject({
      code: 'PEER_GO_MISSING',
      message: expect.stringContaining(
        `VictoriaMetrics ${VICTORIA_METRICS_VERSION} is built from source`,
      ) as string,
    })
    expect(existsSync(join(dir, 'victoria-metrics', VICTORIA_METRICS_VERSION, 'victoria-metrics'))).toBe(
      false,
    )
  })

  it('fails with go’s reason and the log’s path when the build fails, and marks nothing complete', async () => {
    // The real go, refused the module proxy: the build fails at once, without the network.
    process.env.GOPROXY = 'off'
    process.env.GOMODCACHE = join(dir, 'modcache')
    const versionDir = join(dir, 'victoria-metrics', VICTORIA_METRICS_VERSION)
    const err = await ensureVictoriaMetrics({ cacheDir: dir, go: '/usr/local/go/bin/go' }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    )
    expect(err?.code).toBe('PEER_BUILD_FAILED')
    expect(err?.message).toContain('module lookup disabled by GOPROXY=off')
    expect(err?.message).toContain(join(versionDir, 'build.log'))
    // Only the log is left: no binary, no marker, no staging folder.
    expect(readdirSync(versionDir)).toEqual(['build.log'])
  })
})
