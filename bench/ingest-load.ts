/**
 * The load generator of bench/ingest-gateway.ts, run as its own process so that its CPU is not the
 * gateway's: `connections` keep-alive connections each POST one request after another for `seconds`,
 * cycling through bodies prepared up front (real envelopes of this host's /proc, gzip'ed as the agent
 * sends them) so that encoding is not what is measured. Prints one JSON line of counts at the end.
 * `npx tsx bench/ingest-load.ts URL KEY CONNECTIONS SECONDS VALUES_PER_REQUEST`
 */
import { request, Agent } from 'node:http'
import { gzipSync } from 'node:zlib'
import { Sampler } from '../agent/src/sampler.ts'
import { envelopeCodec } from '../schemas/src/codec.ts'
import { PROC_FAMILIES, type Sample } from '../schemas/src/families.ts'
import { samplePoints } from '../schemas/src/node-exporter.ts'

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
  const sampler = new Sampler('/proc', () => undefined)
  const all = PROC_FAMILIES.map((f) => sampler.sample(f)).filter((s): s is Sample => s !== undefined)
  sampler.close()
  const samples: Sample[] = []
  let n = 0
  for (let i = 0; n < values; i++) {
    const s = all[i % all.length] as Sample
    samples.push(s)
    samplePoints(s, () => n++)
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

async function main(): Promise<void> {
  const [url, key, connectionsArg, secondsArg, valuesArg] = process.argv.slice(2)
  if (!url || !key) throw new Error('usage: ingest-load.ts URL KEY CONNECTIONS SECONDS VALUES_PER_REQUEST')
  const connections = Number(connectionsArg ?? 32)
  const seconds = Number(secondsArg ?? 20)
  const prepared = bodies(Number(valuesArg ?? 100), 10_000)
  const target = new URL('/v1/ingest', url)
  const agent = new Agent({ keepAlive: true, maxSockets: connections })
  const headers = {
    authorization: `Bearer ${key}`,
    'content-type': 'application/vnd.procstream.avro',
    'content-encoding': 'gzip',
  }
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
  const post = (body: Buffer): Promise<number> =>
    new Promise((resolve) => {
      const req = request(
        target,
        { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
        (res) => {
          res.resume()
          res.once('end', () => resolve(res.statusCode ?? 0))
        },
      )
      req.once('error', () => resolve(0))
      req.end(body)
    })
  const cpu0 = process.cpuUsage()
  const start = performance.now()
  const end = start + seconds * 1000
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const body = prepared.bodies[next++ % prepared.bodies.length] as Buffer
      const t = performance.now()
      const status = await post(body)
      latencies.push(performance.now() - t)
      result.requests++
      if (status === 202) result.accepted++
      else if (status === 0) result.errors++
      else result.refused[String(status)] = (result.refused[String(status)] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
  result.seconds = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpu0)
  result.cpuSeconds = (cpu.user + cpu.system) / 1e6
  latencies.sort((a, b) => a - b)
  result.latencyMs = { p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
  agent.destroy()
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

await main()
