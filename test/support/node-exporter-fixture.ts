import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * node_exporter's own end-to-end fixtures (test/fixtures/node_exporter, a copy of the workspace's
 * shared fixtures with node_exporter's LICENSE and README, kept in the repository so a clone anywhere
 * runs the comparison): the
 * /proc tree, the /sys and udev trees as ttar archives, and the exposition node_exporter prints
 * for them. Used to hold the agent's collectors to node_exporter's names, labels, HELP, TYPE and
 * values, family by family.
 */
export const NODE_EXPORTER_FIXTURES = resolve(
  fileURLToPath(new URL('../fixtures/node_exporter/', import.meta.url)),
)

export interface FixtureRoots {
  procfs: string
  sysfs: string
  udevData: string
  rootfs: string
}

/**
 * ttar (a plain-text archive, github.com/ideaship/ttar): `Directory: P`, `Path: P` + `Lines: N` + N
 * lines (a last line ending in `EOF` had no newline; `NULLBYTE` is a 0 byte) or `SymlinkTo: T`, each
 * followed by `Mode:`. Read as bytes: some files (PCI config space) are binary.
 */
export function unpackTtar(archive: string, dest: string): void {
  const data = readFileSync(archive)
  const lines: Buffer[] = []
  let start = 0
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0a) {
      lines.push(data.subarray(start, i))
      start = i + 1
    }
  }
  if (start < data.length) lines.push(data.subarray(start))
  const NULLBYTE = Buffer.from('NULLBYTE')
  let i = 0
  const text = (b: Buffer | undefined): string => (b ?? Buffer.alloc(0)).toString('latin1')
  while (i < lines.length) {
    const line = text(lines[i])
    i++
    if (line.startsWith('Directory: ')) {
      mkdirSync(join(dest, line.slice(11)), { recursive: true })
    } else if (line.startsWith('Path: ')) {
      const path = join(dest, line.slice(6))
      mkdirSync(dirname(path), { recursive: true })
      const next = text(lines[i])
      if (next.startsWith('SymlinkTo: ')) {
        i++
        rmSync(path, { force: true })
        symlinkSync(next.slice(11), path)
        continue
      }
      if (!next.startsWith('Lines: ')) throw new Error(`ttar ${archive}: no Lines: after ${line}`)
      const n = Number(next.slice(7))
      i++
      const parts: Buffer[] = []
      for (let k = 0; k < n; k++) {
        let content = lines[i + k] ?? Buffer.alloc(0)
        let newline = true
        if (k === n - 1 && content.length >= 3 && text(content.subarray(content.length - 3)) === 'EOF') {
          content = content.subarray(0, content.length - 3)
          newline = false
        }
        // NULLBYTE → 0; a leading \EOF or \NULLBYTE was escaped by the archiver.
        const chunks: Buffer[] = []
        let from = 0
        for (let at = content.indexOf(NULLBYTE); at >= 0; at = content.indexOf(NULLBYTE, from)) {
          chunks.push(content.subarray(from, at), Buffer.from([0]))
          from = at + NULLBYTE.length
        }
        chunks.push(content.subarray(from))
        let bytes = Buffer.concat(chunks)
        if (text(bytes).startsWith('\\EOF') || text(bytes).startsWith('\\NULLBYTE')) bytes = bytes.subarray(1)
        parts.push(bytes)
        if (newline) parts.push(Buffer.from('\n'))
      }
      i += n
      writeFileSync(path, Buffer.concat(parts))
    }
    // `Mode:` lines and `# ttar` separators carry nothing the collectors read.
  }
}

/**
 * The fixture tree unpacked once per archive content into the OS temp folder (kept between runs:
 * the archives never change under a given hash), with node_exporter's --path.* settings of its test.
 */
export function fixtureRoots(): FixtureRoots {
  const sysTtar = join(NODE_EXPORTER_FIXTURES, 'sys.ttar')
  const udevTtar = join(NODE_EXPORTER_FIXTURES, 'udev.ttar')
  const hash = createHash('sha256')
    .update(readFileSync(sysTtar))
    .update(readFileSync(udevTtar))
    .digest('hex')
    .slice(0, 16)
  const root = join(tmpdir(), `procstream-node-exporter-fixture-${hash}`)
  if (!existsSync(join(root, 'done'))) {
    const staging = `${root}.${String(process.pid)}`
    rmSync(staging, { recursive: true, force: true })
    unpackTtar(sysTtar, staging)
    unpackTtar(udevTtar, staging)
    writeFileSync(join(staging, 'done'), '')
    try {
      renameSync(staging, root)
    } catch {
      // Another worker unpacked it first.
      rmSync(staging, { recursive: true, force: true })
    }
  }
  return {
    procfs: join(NODE_EXPORTER_FIXTURES, 'proc'),
    sysfs: join(root, 'sys'),
    udevData: join(root, 'udev', 'data'),
    rootfs: NODE_EXPORTER_FIXTURES,
  }
}

/**
 * The collector options node_exporter's end-to-end test ran with (README of the fixtures), in the
 * agent's `<collector>.<option>` spelling.
 */
export const FIXTURE_OPTIONS: Readonly<Record<string, string>> = {
  'cpu_info.bugs-include': '^(cpu_meltdown|spectre_.*|mds)$',
  'cpu_info.flags-include': '^(aes|avx.?|constant_tsc)$',
  'arp.device-exclude': 'nope',
  'bcache.priorityStats': 'true',
  'hwmon.chip-include': '(applesmc|asus_nb_wmi|coretemp|hwmon4|ieee80211|nct6779)',
  'netclass.ignore-invalid-speed': 'true',
  'netclass.ignored-devices': '(dmz|int)',
}

/** One metric name of an exposition: HELP, TYPE and its sample lines as printed. */
export interface ExpositionFamily {
  help: string
  type: string
  lines: string[]
}

/** Prometheus text → families by name, each sample line kept verbatim (values compared as printed). */
export function parseExposition(text: string): Map<string, ExpositionFamily> {
  const out = new Map<string, ExpositionFamily>()
  const family = (name: string): ExpositionFamily => {
    let f = out.get(name)
    if (!f) {
      f = { help: '', type: '', lines: [] }
      out.set(name, f)
    }
    return f
  }
  for (const line of text.split('\n')) {
    if (line === '') continue
    const help = /^# HELP (\S+) (.*)$/.exec(line)
    if (help?.[1]) {
      family(help[1]).help = help[2] ?? ''
      continue
    }
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type?.[1]) {
      family(type[1]).type = type[2] ?? ''
      continue
    }
    if (line.startsWith('#')) continue
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0]
    if (!name) throw new Error(`not a sample line: ${line}`)
    family(name).lines.push(line)
  }
  return out
}

/** What node_exporter printed for the fixture tree. */
export function expectedExposition(): Map<string, ExpositionFamily> {
  return parseExposition(readFileSync(join(NODE_EXPORTER_FIXTURES, 'e2e-output.txt'), 'utf8'))
}
