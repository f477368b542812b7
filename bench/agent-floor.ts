/**
 * The floors under issue 3's agent targets on this machine, measured rather than argued:
 *   - what the kernel charges for one snapshot's reads, from C (bench/floor/proc-read-floor.c, built
 *     with the machine's gcc -O2): pread of the agent's files kept open, plus statfs of its mounts,
 *     alone and with a strtoull over every number; then the same files through node's readSync and
 *     through the agent's own ProcFile, and the agent's full in-process snapshot beside them;
 *   - the same work paced at 10 Hz, as a real agent ticks (caches cold, not a hot loop): the C floor
 *     as a process of its own, whose CPU share is what a native 10 Hz agent could not go below, and
 *     the agent's read + parse + encode per tick in-process;
 *   - what a node process costs before the agent does anything: resident memory of an idle node, CPU
 *     and memory of one that only wakes at 10 and 100 Hz;
 *   - the bundled agent at 10 Hz, sending to a local broker as bench/agent-vs-node-exporter.ts runs
 *     it, under V8 memory flags, to see whether RSS ≤ 50 MB is reachable and what it costs in CPU.
 * Every measurement is repeated (`repeats`, default 2) and each run's value is kept: the machine is a
 * shared 2-core VM and the spread is part of the result.
 *
 * `npx tsx bench/agent-floor.ts [--seconds N] [--repeats N] [--iterations N] [--procfs DIR]
 *  [--flags='A B;C'] [--json]` prints the markdown (or the rows as JSON); `--flags` replaces the
 *  agent's flag sets, `;` between sets, `-` for none, `NAME=VALUE` for an environment variable.
 */
import { execFileSync, spawn } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, statfsSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { buildAgent } from '../agent/build.ts'
import { envelopeOf, type SampleOrigin } from '../agent/src/envelope.ts'
import { Sampler } from '../agent/src/sampler.ts'
import { ProcFile } from '../agent/src/source/proc-file.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { PROC_FAMILIES } from '#schemas/src/families.ts'
import { benchAgentSnapshot, time } from './agent-snapshot.ts'
import { agentRow } from './agent-vs-node-exporter.ts'
import { withBenchBroker } from './bench-broker.ts'
import { measure, processUsage } from '../loadtest/src/process-usage.ts'

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url))
const CACHE = join(REPO_ROOT, '.cache/bench')
const C_SOURCE = join(REPO_ROOT, 'bench/floor/proc-read-floor.c')
const MB = 2 ** 20

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export type FloorSection = 'snapshot' | 'input' | 'process'

export interface FloorRow {
  /** snapshot: µs per whole snapshot; input: µs per file alone; process: a running process's cost. */
  section: FloorSection
  name: string
  /** One value per repeat, in run order (empty where the row does not measure it). */
  medianUs: number[]
  p99Us: number[]
  /** From /proc/PID/stat utime + stime (loadtest/src/process-usage.ts), 10 ms steps. */
  cpuPercent: number[]
  /** The same from the scheduler's nanosecond count over the threads alive (one second shorter). */
  schedCpuPercent: number[]
  /** Peak VmRSS. */
  rssMb: number[]
  /** Peak RssAnon: what the process itself allocated, as opposed to the node binary's mapped pages. */
  anonMb: number[]
  bytes?: number
  threads?: number
}

export interface FlagSet {
  flags: readonly string[]
  env?: Record<string, string>
}

export interface AgentFloorOptions {
  /** Measurement window of each process row (after a 5 s start-up). */
  seconds?: number
  repeats?: number
  /** Snapshots timed per native or in-process run. */
  iterations?: number
  procfs?: string
  /** The agent's node flag sets at 10 Hz; the first should be none, for the baseline. */
  agentFlagSets?: readonly FlagSet[]
}

/** Every V8 flag tried below at once: the leanest node this bench knows how to start. */
const LEAN_FLAGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--max-old-space-size=32',
  '--single-threaded-gc',
  '--v8-pool-size=1',
  '--lite-mode',
]

/**
 * Each lever alone, then together, then with the two environment variables that cut threads and
 * malloc arenas as well. --v8-pool-size=0 means "size it from the CPU count" (1 worker on 2 cores),
 * not none: 1 is the real minimum. libuv starts its 4 pool threads at the first fs/dns/zlib job.
 */
export const DEFAULT_AGENT_FLAG_SETS: readonly FlagSet[] = [
  { flags: [] },
  { flags: ['--max-semi-space-size=1'] },
  { flags: ['--max-old-space-size=32'] },
  { flags: ['--single-threaded-gc', '--v8-pool-size=1'] },
  { flags: ['--lite-mode'] },
  { flags: LEAN_FLAGS.filter((f) => f !== '--lite-mode') },
  { flags: LEAN_FLAGS },
  { flags: LEAN_FLAGS, env: { UV_THREADPOOL_SIZE: '1', MALLOC_ARENA_MAX: '1' } },
]

export function flagSetName(set: FlagSet): string {
  const env = Object.entries(set.env ?? {}).map(([k, v]) => `${k}=${v}`)
  const all = [...env, ...set.flags]
  return all.length === 0 ? '(no flags)' : all.join(' ')
}

interface PacedFloor {
  hz: number
  readScan: { medianUs: number; p99Us: number }
}

interface NativeFloor {
  files: string[]
  statfs: string[]
  read: { medianUs: number; p99Us: number }
  readScan: { medianUs: number; p99Us: number }
  perInput: { input: string; bytes: number; medianUs: number }[]
}

/** Compiled on every run: gcc takes a fraction of a second and a stale binary would measure old code. */
function compileNativeFloor(): string {
  mkdirSync(CACHE, { recursive: true })
  const binary = join(CACHE, 'proc-read-floor')
  execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, C_SOURCE], { stdio: 'inherit' })
  return binary
}

function runNativeFloor(binary: string, procfs: string, iterations: number): NativeFloor {
  const out = execFileSync(binary, ['--procfs', procfs, '--iterations', String(iterations)], {
    encoding: 'utf8',
  })
  return JSON.parse(out) as NativeFloor
}

interface Timing {
  medianUs: number
  p99Us: number
}

function timeUs(iterations: number, fn: () => void): Timing {
  const { medianUs, p99Us } = time('', iterations, fn)
  return { medianUs, p99Us }
}

/**
 * node's readSync of the native floor's files into reused buffers, without making strings. Nothing
 * needs to consume the results: V8 cannot drop a call into the fs binding.
 */
function nodeReadSyncFloor(files: readonly string[], mounts: readonly string[], iterations: number): Timing {
  const open = files.map((f) => ({ fd: openSync(f, 'r'), buf: Buffer.allocUnsafe(16 * 1024) }))
  try {
    return timeUs(iterations, () => {
      for (const { fd, buf } of open) readSync(fd, buf, 0, buf.length, 0)
      for (const m of mounts) statfsSync(m)
    })
  } finally {
    for (const { fd } of open) closeSync(fd)
  }
}

/** The agent's own read path: ProcFile.read() (readSync + a latin1 string), plus statfsSync. */
function procFileFloor(files: readonly string[], mounts: readonly string[], iterations: number): Timing {
  const procFiles = files.map((f) => new ProcFile(f))
  try {
    return timeUs(iterations, () => {
      for (const f of procFiles) f.read()
      for (const m of mounts) statfsSync(m)
    })
  } finally {
    for (const f of procFiles) f.close()
  }
}

interface StatusMemory {
  anonBytes: number
  threads: number
}

function statusMemory(pid: number): StatusMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN)
  return { anonBytes: field('RssAnon') * 1024, threads: field('Threads') }
}

/**
 * CPU time of every live thread in nanoseconds (/proc/PID/task/TID/schedstat, the scheduler's own
 * count). /proc/PID/stat, which loadtest/src/process-usage.ts reads, has 10 ms steps: ±0.05 % of a core over
 * 20 s, as large as the floors measured here. A thread that exits between two looks loses its time,
 * which a steady process's threads do not do.
 */
function threadsCpuNs(pid: number): number {
  let ns = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // The thread has just exited.
    }
  }
  return ns
}

interface Watched {
  peakAnonBytes: number
  threads: number
  /** From the first look to the last; NaN before two looks. */
  schedCpuPercent: number
}

/**
 * Looks at the process every second: peak anonymous memory, thread count, scheduler CPU time. A
 * process that has exited has no VmRSS any more (or no /proc entry), and its row would silently read
 * as free.
 */
function processWatcher(): { onTick: (pid: number) => void; result: () => Watched } {
  let peakAnonBytes = 0
  let threads = 0
  let first: { ns: number; at: number } | undefined
  let last: { ns: number; at: number } | undefined
  return {
    onTick: (pid) => {
      const m = statusMemory(pid)
      if (!Number.isFinite(m.anonBytes))
        throw new Error(`process ${pid} is gone: its row would measure nothing`)
      peakAnonBytes = Math.max(peakAnonBytes, m.anonBytes)
      threads = m.threads
      last = { ns: threadsCpuNs(pid), at: performance.now() }
      first ??= last
    },
    result: () => ({
      peakAnonBytes,
      threads,
      schedCpuPercent:
        first && last && last.at > first.at ? ((last.ns - first.ns) / 1e6 / (last.at - first.at)) * 100 : NaN,
    }),
  }
}

interface ProcessRun {
  cpuPercent?: number
  rssBytes: number
  watched: Watched
}

const ORIGIN: SampleOrigin = {
  tenant: 'bench',
  id: { hostId: 'bench-host', hostname: 'bench', agentId: 'bench-agent' },
}

/**
 * The agent's per-tick work (read, parse, encode) at `hz` as its default schedule runs it: seven
 * families every tick, filesystems every 10 s. The code is made hot first, as in an agent that has
 * run for a while, so what differs from the hot loop is the caches a real tick finds cold.
 */
async function pacedAgentSnapshot(procfs: string, hz: number, ticks: number): Promise<Timing> {
  const sampler = new Sampler(procfs, () => undefined)
  const codec = envelopeCodec()
  let seq = 0
  const tick = (withFilesystem: boolean): void => {
    const ts = Date.now() * 1000
    for (const family of PROC_FAMILIES) {
      if (family === 'filesystem' && !withFilesystem) continue
      const sample = sampler.sample(family)
      if (sample) codec.encode(envelopeOf(ORIGIN, seq++, ts, 1000 / hz, sample))
    }
  }
  try {
    for (let i = 0; i < 1000; i++) tick(i % 10 === 0)
    const samples = new Float64Array(ticks)
    let next = performance.now()
    for (let i = 0; i < ticks; i++) {
      next += 1000 / hz
      await sleep(Math.max(0, next - performance.now()))
      const t0 = process.hrtime.bigint()
      tick(i % (10 * hz) === 0)
      samples[i] = Number(process.hrtime.bigint() - t0) / 1000
    }
    samples.sort()
    return {
      medianUs: samples[Math.floor(ticks / 2)] ?? NaN,
      p99Us: samples[Math.floor(ticks * 0.99)] ?? NaN,
    }
  } finally {
    sampler.close()
  }
}

/**
 * The C floor in its --hz mode, as a process: its CPU share is what the reads and wake-ups of a 10 Hz
 * agent cost with no runtime at all, and its own report gives the per-tick times.
 */
async function nativeAgentProcess(
  binary: string,
  procfs: string,
  hz: number,
  seconds: number,
): Promise<{ run: ProcessRun; paced: PacedFloor }> {
  // Enough ticks to outlast the 5 s start-up and the window, with a second to spare.
  const ticks = (seconds + 6) * hz
  const child = spawn(binary, ['--procfs', procfs, '--hz', String(hz), '--iterations', String(ticks)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  const pid = child.pid ?? 0
  try {
    await sleep(5000)
    const watch = processWatcher()
    watch.onTick(pid)
    const m = await measure(pid, seconds, () => {
      watch.onTick(pid)
    })
    const code = await closed
    if (code !== 0) throw new Error(`${binary} --hz ${hz} exited with ${String(code)}`)
    return {
      run: {
        cpuPercent: m.cpuPercent,
        rssBytes: m.peakRssBytes,
        watched: watch.result(),
      },
      paced: JSON.parse(out) as PacedFloor,
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}

/**
 * A node child running `script`: with `seconds` undefined only its memory 5 s after start, else CPU
 * and peak memory over `seconds` after a 5 s start-up, as the agent rows are measured.
 */
async function nodeProcess(flags: readonly string[], script: string, seconds?: number): Promise<ProcessRun> {
  const child = spawn(process.execPath, [...flags, '-e', script], { stdio: 'ignore' })
  const pid = child.pid ?? 0
  try {
    await sleep(5000)
    const watch = processWatcher()
    watch.onTick(pid)
    if (seconds === undefined) {
      return { rssBytes: processUsage(pid).rssBytes, watched: watch.result() }
    }
    const m = await measure(pid, seconds, () => {
      watch.onTick(pid)
    })
    return {
      cpuPercent: m.cpuPercent,
      rssBytes: m.peakRssBytes,
      watched: watch.result(),
    }
  } finally {
    child.kill('SIGKILL')
  }
}

function emptyRow(section: FloorSection, name: string): FloorRow {
  return {
    section,
    name,
    medianUs: [],
    p99Us: [],
    cpuPercent: [],
    schedCpuPercent: [],
    rssMb: [],
    anonMb: [],
  }
}

function addRun(row: FloorRow, run: ProcessRun): void {
  if (run.cpuPercent !== undefined) {
    row.cpuPercent.push(run.cpuPercent)
    row.schedCpuPercent.push(run.watched.schedCpuPercent)
  }
  row.rssMb.push(run.rssBytes / MB)
  row.anonMb.push(run.watched.peakAnonBytes / MB)
  row.threads = run.watched.threads
}

export async function benchAgentFloor(options: AgentFloorOptions = {}): Promise<FloorRow[]> {
  const seconds = options.seconds ?? 20
  const repeats = options.repeats ?? 2
  const iterations = options.iterations ?? 20_000
  const procfs = options.procfs ?? '/proc'
  const flagSets = options.agentFlagSets ?? DEFAULT_AGENT_FLAG_SETS

  // Kernel and in-process floors: short and CPU-bound, so run first, before any child adds load.
  const binary = compileNativeFloor()
  const cRead = emptyRow('snapshot', 'C: pread of every file (fds kept open) + statfs of kept mounts')
  const cScan = emptyRow('snapshot', 'C: the same + strtoull over every number')
  const nodeRead = emptyRow('snapshot', 'node: readSync into reused Buffers + statfsSync, no strings')
  const nodeProcFile = emptyRow('snapshot', "node: the agent's ProcFile.read() (latin1 string) + statfsSync")
  const agentSnapshot = emptyRow(
    'snapshot',
    'agent: full snapshot, read + parse + Avro encode (agent-snapshot.ts)',
  )
  const cPaced = emptyRow(
    'snapshot',
    'C: read + strtoull, one 10 Hz tick (7 families; + mounts, statfs every 10 s)',
  )
  const agentPaced = emptyRow(
    'snapshot',
    'agent: read + parse + encode, one 10 Hz tick, in-process after JIT warm-up',
  )
  const cProcess = emptyRow(
    'process',
    'C --hz 10: reads + strtoull at 10 Hz, nothing else (native agent floor)',
  )
  const inputs = new Map<string, FloorRow>()
  for (let r = 0; r < repeats; r++) {
    const native = runNativeFloor(binary, procfs, iterations)
    cRead.medianUs.push(native.read.medianUs)
    cRead.p99Us.push(native.read.p99Us)
    cScan.medianUs.push(native.readScan.medianUs)
    cScan.p99Us.push(native.readScan.p99Us)
    for (const input of native.perInput) {
      const row = inputs.get(input.input) ?? { ...emptyRow('input', input.input), bytes: input.bytes }
      row.medianUs.push(input.medianUs)
      inputs.set(input.input, row)
    }
    for (const [row, t] of [
      [nodeRead, nodeReadSyncFloor(native.files, native.statfs, iterations)],
      [nodeProcFile, procFileFloor(native.files, native.statfs, iterations)],
    ] as const) {
      row.medianUs.push(t.medianUs)
      row.p99Us.push(t.p99Us)
    }
    const full = benchAgentSnapshot(procfs, Math.min(iterations, 5000)).at(-1)
    if (full) {
      agentSnapshot.medianUs.push(full.medianUs)
      agentSnapshot.p99Us.push(full.p99Us)
    }
  }
  // Ticks at 10 Hz, the rate: one window each, native (as a measured process) and in-process.
  for (let r = 0; r < repeats; r++) {
    const native = await nativeAgentProcess(binary, procfs, 10, seconds)
    addRun(cProcess, native.run)
    cPaced.medianUs.push(native.paced.readScan.medianUs)
    cPaced.p99Us.push(native.paced.readScan.p99Us)
    const t = await pacedAgentSnapshot(procfs, 10, seconds * 10)
    agentPaced.medianUs.push(t.medianUs)
    agentPaced.p99Us.push(t.p99Us)
  }

  // Node's own floors: nothing loaded, or only a timer.
  const idle = 'setInterval(() => {}, 1 << 30)'
  const nodeRows: [FloorRow, readonly string[], string, number | undefined][] = [
    [emptyRow('process', 'node, idle (RSS 5 s after start)'), [], idle, undefined],
    [
      emptyRow('process', `node ${LEAN_FLAGS.join(' ')}, idle (RSS 5 s after start)`),
      LEAN_FLAGS,
      idle,
      undefined,
    ],
    [
      emptyRow('process', 'node, setInterval 100 ms (10 Hz), nothing else'),
      [],
      'setInterval(() => {}, 100)',
      seconds,
    ],
    [
      emptyRow('process', 'node, setInterval 10 ms (100 Hz), nothing else'),
      [],
      'setInterval(() => {}, 10)',
      seconds,
    ],
  ]
  // Repeats go round all rows so that a burst of someone else's load lands on one run of several rows.
  for (let r = 0; r < repeats; r++) {
    for (const [row, flags, script, secs] of nodeRows) addRun(row, await nodeProcess(flags, script, secs))
  }

  // The bundled agent at 10 Hz, built from the sources as they are now (dist/ may be stale).
  const bundle = await buildAgent(join(CACHE, 'agent-floor/'))
  const agentRows = flagSets.map((set) => emptyRow('process', `agent 10 Hz → Kafka, ${flagSetName(set)}`))
  await withBenchBroker('agent-floor', 1, async ({ brokers, topic }) => {
    for (let r = 0; r < repeats; r++) {
      for (const [i, set] of flagSets.entries()) {
        const watch = processWatcher()
        const m = await agentRow(bundle, 10, seconds, brokers.join(','), topic, {
          nodeFlags: set.flags,
          env: set.env ?? {},
          onTick: watch.onTick,
        })
        const row = agentRows[i]
        if (row)
          addRun(row, {
            cpuPercent: m.cpu,
            rssBytes: m.rss,
            watched: watch.result(),
          })
      }
    }
  })

  return [
    cRead,
    cScan,
    nodeRead,
    nodeProcFile,
    agentSnapshot,
    cPaced,
    agentPaced,
    ...inputs.values(),
    cProcess,
    ...nodeRows.map(([row]) => row),
    ...agentRows,
  ]
}

const runs = (values: number[], digits: number): string =>
  values.length === 0 ? '' : values.map((v) => v.toFixed(digits)).join(' / ')

export function agentFloorMarkdown(rows: readonly FloorRow[]): string {
  const lines: string[] = []
  const section = (s: FloorSection): FloorRow[] => rows.filter((r) => r.section === s)
  const repeats = Math.max(
    ...rows.map((r) => Math.max(r.medianUs.length, r.cpuPercent.length, r.rssMb.length)),
  )
  lines.push(
    `Agent floors on this host (${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}); each cell: ${repeats} runs, in order`,
  )
  lines.push('')
  lines.push('| one snapshot (8 families, hot loop, unless said otherwise) | median µs | p99 µs |')
  lines.push('| --- | ---: | ---: |')
  for (const r of section('snapshot'))
    lines.push(`| ${r.name} | ${runs(r.medianUs, 1)} | ${runs(r.p99Us, 1)} |`)
  lines.push('')
  lines.push('| C: one input alone | bytes | median µs |')
  lines.push('| --- | ---: | ---: |')
  for (const r of section('input')) lines.push(`| ${r.name} | ${r.bytes ?? ''} | ${runs(r.medianUs, 1)} |`)
  lines.push('')
  lines.push(
    '| process | CPU % of a core (/proc/PID/stat) | the same, scheduler ns | peak RSS MB | of which anonymous MB | threads |',
  )
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const r of section('process')) {
    lines.push(
      `| ${r.name} | ${runs(r.cpuPercent, 2)} | ${runs(r.schedCpuPercent, 3)} | ${runs(r.rssMb, 1)} | ${runs(r.anonMb, 1)} | ${r.threads ?? ''} |`,
    )
  }
  return lines.join('\n')
}

/** `--flags 'A B;-;X=1 C'` → flag sets; `-` is the set without flags. */
function parseFlagSets(text: string): FlagSet[] {
  return text.split(';').map((set) => {
    const words = set
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '' && w !== '-')
    const env: Record<string, string> = {}
    const flags: string[] = []
    for (const w of words) {
      const eq = w.indexOf('=')
      if (!w.startsWith('-') && eq > 0) env[w.slice(0, eq)] = w.slice(eq + 1)
      else flags.push(w)
    }
    return { flags, env }
  })
}

if (import.meta.url === new URL(`file://${process.argv[1] ?? ''}`).href) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      repeats: { type: 'string' },
      iterations: { type: 'string' },
      procfs: { type: 'string' },
      flags: { type: 'string' },
      json: { type: 'boolean' },
    },
  })
  const whole = (name: string, text: string | undefined, fallback: number, min: number): number => {
    const n = Number(text ?? fallback)
    if (Number.isInteger(n) && n >= min) return n
    process.stderr.write(`--${name} must be a whole number of at least ${min}, got ${text ?? ''}\n`)
    process.exit(2)
  }
  const rows = await benchAgentFloor({
    seconds: whole('seconds', values.seconds, 20, 1),
    repeats: whole('repeats', values.repeats, 2, 1),
    iterations: whole('iterations', values.iterations, 20_000, 100),
    procfs: values.procfs ?? '/proc',
    ...(values.flags !== undefined && { agentFlagSets: parseFlagSets(values.flags) }),
  })
  process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${agentFloorMarkdown(rows)}\n`)
}
