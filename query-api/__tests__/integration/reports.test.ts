/**
 * Reports end to end: a real query API on embedded ClickHouse holding known rows (stored through
 * the processors' sink), the real `npm run report` CLI as a child process, and the dashboard's
 * Report button in headless Chromium. Every number checked is computed here, independently, from
 * the values stored; bad requests must print a clear message, exit non-zero and leave no file.
 * The rendered report is saved to test-artifacts/reports/report.png.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '#platform/logger.ts'
import { ClickHouseSink, addPoint, newRowBatch, type RowBatch } from '#test/support/store-rows.ts'
import { canonicalLabels, microsToDateTime64 } from '#schemas/clickhouse/rows.ts'
import { CHROMIUM_PATH, launchChromium } from '#test/support/browser.ts'
import { openEmbeddedClickHouse, type EmbeddedClickHouse } from '#test/support/embedded-clickhouse.ts'
import { memoryKeys } from '#test/support/keys.ts'
import { DEFAULT_RETENTION } from '../../src/report/window.ts'
import { buildQueryApi } from '../../src/server.ts'

const REPO = resolve(import.meta.dirname, '../../..')
const TSX = pathToFileURL(resolve(REPO, 'node_modules/tsx/dist/loader.mjs')).href
const ARTIFACTS = join(REPO, 'test-artifacts/reports')
const DB = 'reports'
/** Seconds in the report window, sampled every second. */
const N = 600
const EVIL = '<img src=x onerror=alert(1)>'

/** What one host sends at second i of the window (i < 0: before it). */
interface Profile {
  tenant: string
  host: string
  hostname: string
  busy: (i: number) => number
  mem: (i: number) => number
  load: (i: number) => number
  psi: {
    cpu: (i: number) => number
    memSome: number
    memFull: number
    io: (i: number) => number
    ioFull: number
  }
  read: (i: number) => number
  write: number
  rx: (i: number) => number
  tx: number
  rootUsed: (i: number) => number
  info: boolean
}

const inRange = (i: number, a: number, b: number): boolean => i >= a && i <= b

const WEB: Profile = {
  tenant: 'acme',
  host: 'web-1',
  hostname: 'web-1.acme.internal',
  busy: (i) =>
    inRange(i, 100, 102)
      ? 97
      : inRange(i, 300, 301)
        ? 95
        : inRange(i, 450, 452)
          ? 99
          : 30 + (20 * ((i * 13) % 10)) / 10,
  mem: (i) => 60 + (35 * ((((i * 7) % 100) + 100) % 100)) / 100,
  load: (i) => 1.05 + (((i % 50) + 50) % 50) / 10,
  psi: {
    cpu: (i) => (inRange(i, 450, 455) ? 0.3 : 0.02),
    memSome: 0.01,
    memFull: 0.005,
    io: (i) => 0.055 + (((i % 20) + 20) % 20) / 100,
    ioFull: 0.02,
  },
  read: (i) => 1e6 * (1 + (((i % 60) + 60) % 60) / 10),
  write: 5e5,
  rx: (i) => (inRange(i, 200, 203) ? 50e6 : 2e6),
  tx: 1e6,
  rootUsed: (i) => 85.03 + (10 * i) / N,
  info: true,
}

function flat(
  p: Omit<Profile, 'busy' | 'mem' | 'load' | 'psi' | 'read' | 'rx' | 'rootUsed' | 'info' | 'write' | 'tx'>,
  busy: number,
  mem: number,
  disk: number,
  net: number,
): Profile {
  return {
    ...p,
    busy: () => busy,
    mem: () => mem,
    load: () => 1,
    psi: { cpu: () => 0.01, memSome: 0, memFull: 0, io: () => 0.01, ioFull: 0 },
    read: () => disk,
    write: 0,
    rx: () => net,
    tx: 0,
    rootUsed: () => 50,
    info: false,
  }
}

const PROFILES: Profile[] = [
  WEB,
  flat({ tenant: 'acme', host: 'db-1', hostname: 'db-1.acme.internal' }, 60, 70, 3e6, 1e6),
  flat({ tenant: 'acme', host: 'evil-1', hostname: EVIL }, 20, 40, 1e5, 8e6),
  // Another tenant: busier than all of acme, and one host under the same id as acme's.
  flat({ tenant: 'globex', host: 'secret-1', hostname: 'secret-1.globex.internal' }, 99, 99, 9e9, 9e9),
  flat({ tenant: 'globex', host: 'web-1', hostname: 'web-1.globex.internal' }, 98, 98, 8e9, 8e9),
]

class HostSim {
  private readonly counters = new Map<string, number>()
  private seq = 0
  constructor(readonly p: Profile) {}

  append(batch: RowBatch, sec: number, i: number): void {
    const { p } = this
    const tsUs = sec * 1_000_000 + 3_000
    const row = (metric: string, labels: Record<string, string>, value: number): void => {
      addPoint(batch, {
        tenant: p.tenant,
        metric,
        host: p.host,
        labels: canonicalLabels(labels),
        tsUs,
        value,
      })
    }
    const counter = (metric: string, labels: Record<string, string>, increase: number): void => {
      const key = `${metric}${canonicalLabels(labels)}`
      const v = (this.counters.get(key) ?? 1000) + increase
      this.counters.set(key, v)
      row(metric, labels, v)
    }
    const busy = p.busy(i) / 100
    for (const cpu of ['0', '1']) {
      counter('node_cpu_seconds_total', { cpu, mode: 'user' }, busy * 0.7)
      counter('node_cpu_seconds_total', { cpu, mode: 'system' }, busy * 0.3)
      counter('node_cpu_seconds_total', { cpu, mode: 'idle' }, 1 - busy)
    }
    const total = 16 * 1024 ** 3
    row('node_memory_MemTotal_bytes', {}, total)
    row('node_memory_MemAvailable_bytes', {}, total * (1 - p.mem(i) / 100))
    row('node_load1', {}, p.load(i))
    counter('node_pressure_cpu_waiting_seconds_total', {}, p.psi.cpu(i))
    counter('node_pressure_memory_waiting_seconds_total', {}, p.psi.memSome)
    counter('node_pressure_memory_stalled_seconds_total', {}, p.psi.memFull)
    counter('node_pressure_io_waiting_seconds_total', {}, p.psi.io(i))
    counter('node_pressure_io_stalled_seconds_total', {}, p.psi.ioFull)
    counter('node_disk_read_bytes_total', { device: 'nvme0n1' }, p.read(i))
    counter('node_disk_written_bytes_total', { device: 'nvme0n1' }, p.write)
    // Virtual devices and filesystems: busier than anything real, and left out of every number.
    counter('node_disk_read_bytes_total', { device: 'loop0' }, 1e9)
    counter('node_network_receive_bytes_total', { device: 'eth0' }, p.rx(i))
    counter('node_network_transmit_bytes_total', { device: 'eth0' }, p.tx)
    counter('node_network_receive_bytes_total', { device: 'lo' }, 1e9)
    counter('node_network_transmit_bytes_total', { device: 'lo' }, 1e9)
    const fs = (mountpoint: string, fstype: string, size: number, used: number): void => {
      const labels = { device: `/dev/${mountpoint.length}`, fstype, mountpoint }
      row('node_filesystem_size_bytes', labels, size)
      row('node_filesystem_avail_bytes', labels, size * (1 - used / 100))
    }
    fs('/', 'ext4', 100e9, p.rootUsed(i))
    fs('/home', 'xfs', 500e9, 50)
    fs('/run', 'tmpfs', 2e9, 99.5)
    if (p.info && sec % 15 === 0) {
      row(
        'node_uname_info',
        {
          nodename: 'web-1',
          release: '6.1.0-28-amd64',
          machine: 'x86_64',
          sysname: 'Linux',
          version: '#1 SMP',
          domainname: '(none)',
        },
        1,
      )
      row(
        'node_os_info',
        {
          pretty_name: 'Debian GNU/Linux 12 (bookworm)',
          name: 'Debian GNU/Linux',
          version: '12 (bookworm)',
          id: 'debian',
        },
        1,
      )
      for (const cpu of ['0', '1'])
        row(
          'node_cpu_info',
          {
            cpu,
            core: cpu,
            package: '0',
            model_name: 'AMD EPYC 7B13',
            vendor: 'AuthenticAMD',
            family: '25',
            microcode: '0x0',
            model: '1',
            stepping: '0',
            cachesize: '512 KB',
          },
          1,
        )
      row(
        'node_dmi_info',
        { system_vendor: 'Google', product_name: 'Google Compute Engine', bios_vendor: 'Google' },
        1,
      )
    }
    batch.log.push([
      p.tenant,
      p.host,
      p.hostname,
      `agent-${p.host}`,
      this.seq++,
      'cpu',
      microsToDateTime64(tsUs),
      1,
      0,
      String(sec),
      'samples',
    ])
  }
}

let db: EmbeddedClickHouse
let app: FastifyInstance
let browser: Browser | undefined
let url = ''
let acmeKey = ''
let globexKey = ''
/** The window's first second. */
let S = 0
const dirs: string[] = []

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'procstream-report-'))
  dirs.push(dir)
  return dir
}

function cli(
  args: string[],
  cwd: string,
  key = acmeKey,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', TSX, resolve(REPO, 'admin/report-cli.ts'), '--url', url, '--key', key, ...args],
      { cwd, env: { ...process.env, PROCSTREAM_URL: '' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
      },
    )
  })
}

beforeAll(async () => {
  browser = await launchChromium()
  mkdirSync(ARTIFACTS, { recursive: true })
  db = await openEmbeddedClickHouse(DB)
  const sink = new ClickHouseSink(db.clickhouse, DB)
  S = Math.floor(Date.now() / 1000) - N - 10
  for (const p of PROFILES) {
    const sim = new HostSim(p)
    const batch = newRowBatch()
    for (let sec = S - 30; sec < S + N + 5; sec++) sim.append(batch, sec, sec - S)
    await sink.write(batch, `reports-${p.tenant}-${p.host}`)
  }
  const { auth, keys } = await memoryKeys([
    { tenant: 'acme', scopes: ['read'] },
    { tenant: 'globex', scopes: ['read'] },
  ])
  acmeKey = keys[0] as string
  globexKey = keys[1] as string
  app = await buildQueryApi({
    clickhouse: db.clickhouse,
    database: DB,
    keys: auth,
    readiness: [],
    logger: createLogger('it-reports', { level: 'silent' }),
    maxPoints: 11_000,
    reports: {
      chromiumPath: CHROMIUM_PATH,
      maxConcurrentPerTenant: 4,
      resultTtlMs: 120_000,
      retention: DEFAULT_RETENTION,
      points: 1_500,
    },
  })
  url = await app.listen({ host: '127.0.0.1', port: 0 })
})

afterAll(async () => {
  await browser?.close()
  await app.close()
  await db.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/** The nearest-rank percentile, as a report states it. */
function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] as number
}

/** Per family: the values of the window's N seconds, from the profile directly. */
function expectedFamilies(p: Profile): Record<string, { values: number[]; threshold?: number }> {
  const at = (f: (i: number) => number): number[] => Array.from({ length: N }, (_, i) => f(i))
  return {
    cpu_busy: { values: at(p.busy), threshold: 90 },
    memory_used: { values: at(p.mem), threshold: 90 },
    load1: { values: at(p.load), threshold: 2 },
    psi_cpu_some: { values: at((i) => 100 * p.psi.cpu(i)), threshold: 10 },
    psi_memory_some: { values: at(() => 100 * p.psi.memSome), threshold: 10 },
    psi_memory_full: { values: at(() => 100 * p.psi.memFull), threshold: 5 },
    psi_io_some: { values: at((i) => 100 * p.psi.io(i)), threshold: 10 },
    psi_io_full: { values: at(() => 100 * p.psi.ioFull), threshold: 5 },
    disk_read: { values: at(p.read) },
    disk_write: { values: at(() => p.write) },
    net_rx: { values: at(p.rx) },
    net_tx: { values: at(() => p.tx) },
    filesystem_used: { values: at(p.rootUsed), threshold: 90 },
  }
}

function cell(html: string, family: string, stat: string): string | undefined {
  const row = new RegExp(`<tr data-family="${family}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? ''
  return new RegExp(`data-stat="${stat}" data-value="([^"]*)"`).exec(row)?.[1]
}

/** No script, no handler, nothing fetched from anywhere: the markup only, attribute values aside. */
function expectSelfContained(html: string): void {
  const tags = (html.match(/<[a-zA-Z!/][^>]*>/g) ?? []).map((t) => t.replace(/"[^"]*"/g, '""'))
  for (const tag of tags) {
    expect(tag).not.toMatch(/^<(script|img|link|iframe|object|embed|base|form)/i)
    expect(tag).not.toMatch(/\s(on[a-z]+|src|href|srcset|action)=/i)
  }
  expect(html).not.toMatch(/url\(|@import/i)
  expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:\/\//i)
}

describe('npm run report', () => {
  it('writes a host report whose numbers are the stored data’s, with the host’s facts', async () => {
    const dir = tempDir()
    const from = new Date(S * 1000).toISOString()
    const to = new Date((S + N) * 1000).toISOString()
    const run = await cli(['--host', WEB.hostname, '--from', from, '--to', to, '--out', 'web.html'], dir)
    expect(run.stderr).toMatch(/progress \d+\/\d+ /)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.trim()).toBe(join(dir, 'web.html'))
    expect(readdirSync(dir)).toEqual(['web.html'])
    const html = readFileSync(join(dir, 'web.html'), 'utf8')
    expectSelfContained(html)
    expect(html).toContain('<span id="report-host">web-1.acme.internal</span>')
    expect(html).toContain('one value every 1 s, read from metrics_raw')
    for (const [id, value] of [
      ['os', 'Debian GNU/Linux 12 (bookworm)'],
      ['kernel', '6.1.0-28-amd64'],
      ['arch', 'x86_64'],
      ['cpu', '2 CPUs · AMD EPYC 7B13'],
      ['hardware', 'Google Google Compute Engine'],
      ['nodename', 'web-1'],
    ])
      expect(html).toContain(`data-fact="${id as string}">${value as string}</dd>`)

    for (const [family, { values, threshold }] of Object.entries(expectedFamilies(WEB))) {
      const num = (stat: string): number => Number(cell(html, family, stat))
      expect(num('p50'), `${family} p50`).toBeCloseTo(nearestRank(values, 50), 6)
      expect(num('p95'), `${family} p95`).toBeCloseTo(nearestRank(values, 95), 6)
      expect(num('max'), `${family} max`).toBeCloseTo(Math.max(...values), 6)
      if (threshold !== undefined)
        expect(num('above'), `${family} time above`).toBe(1000 * values.filter((v) => v > threshold).length)
    }
    // Shown as text too: CPU above 90 % for 3 + 2 + 3 s.
    expect(html).toMatch(/data-stat="max" data-value="[^"]*">99\.0 %/)
    expect(html).toMatch(/<tr data-family="cpu_busy">[\s\S]*?>8 s<\/td>/)

    // The spikes: CPU at 99 % from second 450, then 97 % at 100 and 95 % at 300; pressure's top
    // is the CPU stall at 450; network's the receive burst at 200.
    const spikes = [...html.matchAll(/data-spike="(\w+)" data-time="(\d+)" data-value="([^"]+)"/g)].map(
      (m) => ({
        group: m[1],
        t: Number(m[2]),
        v: Number(m[3]),
      }),
    )
    const first = (group: string, n: number): { t: number; v: number }[] =>
      spikes
        .filter((s) => s.group === group)
        .slice(0, n)
        .map(({ t, v }) => ({ t, v: Math.round(v * 1000) / 1000 }))
    expect(first('cpu', 3)).toEqual([
      { t: (S + 450) * 1000, v: 99 },
      { t: (S + 100) * 1000, v: 97 },
      { t: (S + 300) * 1000, v: 95 },
    ])
    expect(first('pressure', 1)).toEqual([{ t: (S + 450) * 1000, v: 30 }])
    expect(first('network', 1)).toEqual([{ t: (S + 200) * 1000, v: 50e6 }])
    expect(spikes.some((s) => s.group === 'disk')).toBe(true)
    expect((html.match(/<svg /g) ?? []).length).toBe(13)

    // The screenshot in the README: the report as a browser shows it.
    const page = await (browser as Browser).newPage({ viewport: { width: 960, height: 900 } })
    await page.setContent(html)
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true })
    await page.close()
  })

  it('writes the same report as a PDF, by host id, with the server’s file name', async () => {
    const dir = tempDir()
    const run = await cli(
      ['--host', 'web-1', '--from', String(S * 1000), '--to', String((S + N) * 1000), '--format', 'pdf'],
      dir,
    )
    expect(run.code, run.stderr).toBe(0)
    const files = readdirSync(dir)
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^report-web-1\.acme\.internal-\d{8}T\d{4}\.pdf$/)
    const pdf = readFileSync(join(dir, files[0] as string))
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-')
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []
    expect(pages.length).toBeGreaterThanOrEqual(2)
  })

  it('writes a fleet report: the tenant’s hosts ranked by each resource, names as text', async () => {
    const dir = tempDir()
    const run = await cli(['--fleet', '--from', String(S * 1000), '--to', String((S + N) * 1000)], dir)
    expect(run.code, run.stderr).toBe(0)
    const files = readdirSync(dir)
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^report-fleet-\d{8}T\d{4}\.html$/)
    const html = readFileSync(join(dir, files[0] as string), 'utf8')
    expectSelfContained(html)
    expect(html).toContain('3 hosts;')
    expect(html).not.toContain('globex')
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;')
    const ranked = (resource: string): { host: string; mean: number }[] => {
      const section =
        new RegExp(`<section data-resource="${resource}">([\\s\\S]*?)</section>`).exec(html)?.[1] ?? ''
      return [
        ...section.matchAll(/<tr data-host="([^"]+)">[\s\S]*?data-stat="mean" data-value="([^"]+)"/g),
      ].map((m) => ({
        host: m[1] as string,
        mean: Number(m[2]),
      }))
    }
    const cpu = ranked('cpu')
    expect(cpu.map((r) => r.host)).toEqual(['db-1', 'web-1', 'evil-1'])
    expect(cpu[0]?.mean).toBeCloseTo(60, 3)
    expect(cpu[2]?.mean).toBeCloseTo(20, 3)
    expect(ranked('mem').map((r) => r.host)).toEqual(['web-1', 'db-1', 'evil-1'])
    expect(ranked('mem')[1]?.mean).toBeCloseTo(70, 3)
    expect(ranked('disk').map((r) => r.host)).toEqual(['web-1', 'db-1', 'evil-1'])
    expect(ranked('disk')[1]?.mean).toBeCloseTo(3e6, -3)
    expect(ranked('net').map((r) => r.host)).toEqual(['evil-1', 'web-1', 'db-1'])
    expect(ranked('net')[0]?.mean).toBeCloseTo(8e6, -3)
  })

  it.each([
    ['an unknown host', ['--host', 'nope'], /error 404 NOT_FOUND: unknown host "nope"/],
    [
      'another tenant’s host',
      ['--host', 'secret-1.globex.internal'],
      /error 404 NOT_FOUND: unknown host "secret-1.globex.internal"/,
    ],
    ['another tenant’s host id', ['--host', 'secret-1'], /error 404 NOT_FOUND: unknown host "secret-1"/],
    [
      'a reversed window',
      ['--host', 'web-1', '--from', '-1h', '--to', '-2h'],
      /error 400 BAD_REQUEST: the window is reversed/,
    ],
    [
      'an empty window',
      ['--host', 'web-1', '--from', '1765000000000', '--to', '1765000000000'],
      /error 400 BAD_REQUEST: the window is empty/,
    ],
    [
      'a window past retention',
      ['--host', 'web-1', '--from', '-3000d', '--to', '-2999d'],
      /error 400 BAD_REQUEST: the window starts 3000 days ago, past the retention .*1825 days, ROLLUP_1H_TTL_DAYS/,
    ],
    [
      'a window with no data',
      ['--host', 'web-1', '--from', '-20d', '--to', '-19d'],
      /the report failed: host "web-1" has no data in this window/,
    ],
  ])('refuses %s with a clear message and leaves no file', async (_what, args, message) => {
    const dir = tempDir()
    for (const out of [[], ['--out', join(dir, 'r.html')]]) {
      const run = await cli([...args, ...out], dir)
      expect(run.code).not.toBe(0)
      expect(run.stderr).toMatch(message)
      expect(run.stdout).toBe('')
      expect(readdirSync(dir)).toEqual([])
    }
  })

  it('keeps a job to its tenant: another key gets 404, the same as for an unknown id', async () => {
    const post = await fetch(`${url}/api/v1/reports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${acmeKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        kind: 'host',
        host: 'web-1',
        from: S * 1000,
        to: (S + 60) * 1000,
        format: 'html',
      }),
    })
    expect(post.status).toBe(202)
    const { id } = (await post.json()) as { id: string }
    const get = (path: string, key: string): Promise<Response> =>
      fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } })
    await expect
      .poll(
        async () => ((await (await get(`/api/v1/reports/${id}`, acmeKey)).json()) as { state: string }).state,
        { timeout: 20_000 },
      )
      .toBe('done')
    const unknown = await get('/api/v1/reports/00000000-0000-4000-8000-000000000000', globexKey)
    for (const path of [`/api/v1/reports/${id}`, `/api/v1/reports/${id}/content`]) {
      const res = await get(path, globexKey)
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({ error: 'no such report', code: 'NOT_FOUND' })
    }
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ error: 'no such report', code: 'NOT_FOUND' })
    const mine = await get(`/api/v1/reports/${id}/content`, acmeKey)
    expect(mine.status).toBe(200)
    expect(mine.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(mine.headers.get('content-disposition')).toMatch(
      /^attachment; filename="report-web-1\.acme\.internal-/,
    )
  })
})

describe('the dashboard’s Report button', () => {
  it('makes the host’s report with a visible progress indicator, then offers the download', async () => {
    const context = await (browser as Browser).newContext({
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
    })
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    await page.goto(`${url}/#key=${acmeKey}`)
    await page.waitForSelector('#controls:not([hidden])')
    // The fleet's answer lists the hosts with their names, which the host picker then shows.
    await page.waitForSelector('.fleet-name >> text=web-1.acme.internal', { timeout: 20_000 })
    await page.goto(`${url}/#host=web-1`)
    // The host picker knows the host's name once the host list is read.
    await expect
      .poll(() => page.textContent('#host option:checked'), { timeout: 20_000 })
      .toBe('web-1.acme.internal')
    await page.click('#report-open')
    await expect
      .poll(() => page.textContent('#report-title'), { timeout: 5_000 })
      .toBe('Host report: web-1.acme.internal')
    await page.click('#report-start')
    await page.waitForSelector('#report-progress:not([hidden])', { timeout: 10_000 })
    await page.screenshot({ path: join(ARTIFACTS, 'dialog.png') })
    const link = await page.waitForSelector('#report-download:not([hidden])', { timeout: 30_000 })
    // The indicator ends full.
    expect(
      await page.evaluate(
        `(() => { const p = document.querySelector('#report-progress'); return p.value === p.max && p.max > 1 })()`,
      ),
    ).toBe(true)
    expect(await link.textContent()).toMatch(/^Download report-web-1\.acme\.internal-\d{8}T\d{4}\.html$/)
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
    const saved = join(tempDir(), 'from-page.html')
    await download.saveAs(saved)
    const html = readFileSync(saved, 'utf8')
    expect(html).toContain('<span id="report-host">web-1.acme.internal</span>')
    expect(html).toContain('data-fact="os">Debian GNU/Linux 12 (bookworm)</dd>')
    expect(errors).toEqual([])
    await context.close()
  })
})
