import { prng } from '#platform/prng.ts'
import type { Sample } from '#schemas/src/families.ts'
import type {
  CpuSample,
  DiskSample,
  MemorySample,
  NetworkSample,
  PressureSample,
} from '#schemas/src/records.ts'

/**
 * One simulated host: the records of a real host (this machine's /proc, read once) as a starting
 * point, evolved every tick the way a host's counters move. CPU modes advance by exactly the elapsed
 * time times USER_HZ per CPU, split by the host's busy share; network, disk, pressure and vmstat
 * counters only grow; memory and load wander. A spiking host runs near 100 % busy with ten times the
 * traffic for a while. Records are mutated in place: a fleet of thousands costs no allocation per tick
 * beyond the encoder's output.
 */
export interface HostIdentity {
  hostId: string
  hostname: string
  agentId: string
}

export class SyntheticHost {
  readonly id: HostIdentity
  readonly samples: Sample[]
  seq = 0
  private readonly random: () => number
  private readonly baseBusy: number
  private spikeUntilTick = -1
  private tick = 0

  constructor(index: number, template: readonly Sample[], prefix = 'sim') {
    const name = `${prefix}-${String(index).padStart(6, '0')}`
    this.id = { hostId: name, hostname: `${name}.example`, agentId: `agent-${name}` }
    this.samples = structuredClone(template) as Sample[]
    this.random = prng(index + 1)
    this.baseBusy = 0.05 + 0.5 * this.random()
  }

  /** Advance every record by `dtS` seconds of life. */
  advance(dtS: number): void {
    this.tick++
    // About one host in 200 starts a spike at any tick and keeps it for 30 ticks.
    if (this.spikeUntilTick < this.tick && this.random() < 0.005) this.spikeUntilTick = this.tick + 30
    const spiking = this.tick <= this.spikeUntilTick
    const busy = spiking ? 0.95 : Math.min(0.9, this.baseBusy * (0.8 + 0.4 * this.random()))
    const traffic = spiking ? 10 : 1
    for (const s of this.samples) {
      switch (s.family) {
        case 'cpu':
          advanceCpu(s.data, dtS, busy, this.random)
          break
        case 'memory':
          wanderMemory(s.data, this.random)
          break
        case 'network':
          advanceNetwork(s.data, dtS * traffic, this.random)
          break
        case 'disk':
          advanceDisk(s.data, dtS * traffic, this.random)
          break
        case 'load': {
          const cpus = 2
          const target = busy * cpus * (spiking ? 2 : 1)
          s.data.load1 = round2(s.data.load1 + (target - s.data.load1) * 0.08)
          s.data.load5 = round2(s.data.load5 + (target - s.data.load5) * 0.016)
          s.data.load15 = round2(s.data.load15 + (target - s.data.load15) * 0.0055)
          s.data.threads_running = Math.max(1, Math.round(target + this.random()))
          break
        }
        case 'pressure':
          advancePressure(s.data, dtS, busy)
          break
        case 'vmstat':
          for (const k of Object.keys(s.data.fields))
            s.data.fields[k] = (s.data.fields[k] ?? 0) + Math.floor(this.random() * 50 * dtS * traffic)
          break
        default:
          break
      }
    }
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100
}

function advanceCpu(c: CpuSample, dtS: number, busy: number, random: () => number): void {
  const ticks = Math.round(dtS * c.user_hz)
  for (const cpu of c.cpus) {
    // Whole ticks that add up to exactly `ticks` per CPU, as the kernel accounts them.
    const user = Math.round(ticks * busy * 0.65)
    const system = Math.round(ticks * busy * 0.25)
    const iowait = Math.min(ticks - user - system, Math.round(ticks * busy * 0.05))
    const softirq = Math.min(ticks - user - system - iowait, random() < busy ? 1 : 0)
    cpu.user += user
    cpu.system += system
    cpu.iowait += iowait
    cpu.softirq += softirq
    cpu.idle += ticks - user - system - iowait - softirq
  }
  c.ctxt += Math.round(2000 * dtS * (1 + 4 * busy))
  c.intr += Math.round(1500 * dtS * (1 + 2 * busy))
  c.processes += Math.round(random() * 5 * dtS)
}

function wanderMemory(m: MemorySample, random: () => number): void {
  const total = m.fields.MemTotal ?? 8 * 2 ** 30
  const available = m.fields.MemAvailable ?? total / 2
  const next = Math.min(total * 0.95, Math.max(total * 0.05, available + (random() - 0.5) * total * 0.002))
  m.fields.MemAvailable = Math.round(next)
  if (m.fields.MemFree !== undefined) m.fields.MemFree = Math.round(next * 0.3)
}

function advanceNetwork(n: NetworkSample, dtS: number, random: () => number): void {
  for (const i of n.interfaces) {
    const rx = Math.round(random() * 2e6 * dtS)
    const tx = Math.round(random() * 6e5 * dtS)
    i.rx_bytes += rx
    i.tx_bytes += tx
    i.rx_packets += Math.ceil(rx / 1200)
    i.tx_packets += Math.ceil(tx / 1200)
  }
}

function advanceDisk(d: DiskSample, dtS: number, random: () => number): void {
  for (const dev of d.devices) {
    const reads = Math.round(random() * 200 * dtS)
    const writes = Math.round(random() * 300 * dtS)
    dev.reads_completed += reads
    dev.writes_completed += writes
    dev.sectors_read += reads * 16
    dev.sectors_written += writes * 24
    dev.read_time_ms += Math.round(reads * 0.2)
    dev.write_time_ms += Math.round(writes * 0.4)
    dev.io_time_ms += Math.min(Math.round(dtS * 1000), Math.round((reads + writes) * 0.3))
    dev.weighted_io_time_ms += Math.round((reads + writes) * 0.5)
  }
}

function advancePressure(p: PressureSample, dtS: number, busy: number): void {
  const us = dtS * 1e6
  p.cpu.some.total_us += Math.round(us * busy * 0.05)
  p.memory.some.total_us += Math.round(us * 0.002)
  p.io.some.total_us += Math.round(us * busy * 0.02)
  if (p.memory.full) p.memory.full.total_us += Math.round(us * 0.001)
  if (p.io.full) p.io.full.total_us += Math.round(us * busy * 0.01)
}
