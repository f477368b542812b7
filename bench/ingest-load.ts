/**
 * The load generator of bench/ingest-gateway.ts, run as its own process so that its CPU is not the
 * gateway's: `connections` keep-alive connections each POST one request after another for `seconds`,
 * cycling through bodies prepared up front (real envelopes of this host's /proc, gzip'ed as the agent
 * sends them) so that encoding is not what is measured. Prints one JSON line of counts at the end.
 * `npx tsx bench/ingest-load.ts URL KEY CONNECTIONS SECONDS VALUES_PER_REQUEST`
 */
import { connect, type Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { envelopeCodec } from '#schemas/src/codec.ts'
import type { Sample } from '#schemas/src/families.ts'
import { hostSnapshot, valuesIn } from '../loadtest/src/host-snapshot.ts'

export interface LoadResult {
  requests: number
  accepted: number
  /** Status code → count, for everything but 202. */
  refused: Record<string, number>
  errors: number
  seconds: number
  recordsPerRequest: number
  valuesPerRequest: number
  bodyBytes: number
  latencyMs: { p50: number; p99: number }
  cpuSeconds: number
}

/** Whole samples of this host until at least `values` values: what one agent batch would carry. */
function samplesFor(values: number): { samples: Sample[]; values: number } {
  const all = hostSnapshot()
  const samples: Sample[] = []
  let n = 0
  for (let i = 0; n < values; i++) {
    const s = all[i % all.length] as Sample
    samples.push(s)
    n += valuesIn(s)
  }
  return { samples, values: n }
}

function bodies(
  valuesPerRequest: number,
  count: number,
): { bodies: Buffer[]; records: number; values: number } {
  const codec = envelopeCodec()
  const { samples, values } = samplesFor(valuesPerRequest)
  const now = Date.now() * 1000
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const host = `load-${String(i % 1000).padStart(4, '0')}`
    const records = samples.map((sample, j) =>
      codec.encode({
        // The gateway replaces it with the key's tenant: a lie costs nothing here.
        tenant: 'claimed',
        host_id: host,
        hostname: host,
        agent_id: `agent-${host}`,
        seq: Math.floor(i / 1000) * samples.length + j,
        ts_us: now + Math.floor(i / 1000) * 1_000_000,
        interval_ms: 1000,
        sample,
      }),
    )
    out.push(gzipSync(Buffer.concat(records)))
  }
  return { bodies: out, records: samples.length, values }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0
}

/**
 * One keep-alive connection that sends prepared request bytes and reads the answers itself: Node's
 * http client costs about as much CPU per request as the gateway does, which on a shared 2-core
 * machine would measure the client. One request in flight per connection, as an agent sends.
 */
class RawConnection {
  private buffered: Buffer = Buffer.alloc(0)
  private waiting: ((status: number) => void) | undefined
  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk)
    })
    socket.on('error', () => {
      this.fail()
    })
    socket.on('close', () => {
      this.fail()
    })
  }

  static open(url: URL): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        resolve(new RawConnection(socket))
      })
      socket.setNoDelay(true)
      socket.once('error', reject)
    })
  }

  send(request: Buffer): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = resolve
      this.socket.write(request)
    })
  }

  close(): void {
    this.socket.destroy()
  }

  private fail(): void {
    const w = this.waiting
    this.waiting = undefined
    w?.(0)
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk])
    const headEnd = this.buffered.indexOf('\r\n\r\n')
    if (headEnd < 0) return
    const head = this.buffered.subarray(0, headEnd).toString('latin1')
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
    if (this.buffered.length < headEnd + 4 + length) return
    this.buffered = this.buffered.subarray(headEnd + 4 + length)
    const w = this.waiting
    this.waiting = undefined
    w?.(Number(head.slice(9, 12)))
  }
}

async function main(): Promise<void> {
  const [url, key, connectionsArg, secondsArg, valuesArg] = process.argv.slice(2)
  if (!url || !key) throw new Error('usage: ingest-load.ts URL KEY CONNECTIONS SECONDS VALUES_PER_REQUEST')
  const connections = Number(connectionsArg ?? 32)
  const seconds = Number(secondsArg ?? 20)
  const prepared = bodies(Number(valuesArg ?? 100), 10_000)
  const target = new URL('/v1/ingest', url)
  const requests = prepared.bodies.map((body) =>
    Buffer.concat([
      Buffer.from(
        `POST ${target.pathname} HTTP/1.1\r\nhost: ${target.host}\r\nauthorization: Bearer ${key}\r\n` +
          `content-type: application/vnd.procstream.avro\r\ncontent-encoding: gzip\r\n` +
          `content-length: ${String(body.length)}\r\n\r\n`,
        'latin1',
      ),
      body,
    ]),
  )
  const result: LoadResult = {
    requests: 0,
    accepted: 0,
    refused: {},
    errors: 0,
    seconds: 0,
    recordsPerRequest: prepared.records,
    valuesPerRequest: prepared.values,
    bodyBytes: Math.round(prepared.bodies.reduce((n, b) => n + b.length, 0) / prepared.bodies.length),
    latencyMs: { p50: 0, p99: 0 },
    cpuSeconds: 0,
  }
  const latencies: number[] = []
  let next = 0
  const open = await Promise.all(Array.from({ length: connections }, () => RawConnection.open(target)))
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  const end = start + seconds * 1000
  const worker = async (conn: RawConnection): Promise<void> => {
    while (performance.now() < end) {
      const request = requests[next++ % requests.length] as Buffer
      const t = performance.now()
      const status = await conn.send(request)
      latencies.push(performance.now() - t)
      result.requests++
      if (status === 202) result.accepted++
      else if (status === 0) {
        result.errors++
        return
      } else result.refused[String(status)] = (result.refused[String(status)] ?? 0) + 1
    }
  }
  await Promise.all(open.map(worker))
  result.seconds = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpu0)
  result.cpuSeconds = (cpu.user + cpu.system) / 1e6
  latencies.sort((a, b) => a - b)
  result.latencyMs = { p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
  for (const conn of open) conn.close()
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

await main()
