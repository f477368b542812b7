import { readFileSync } from 'node:fs'

/** CPU time (user + system, seconds) and resident memory of a process, read from /proc. */
export interface ProcessUsage {
  cpuSeconds: number
  rssBytes: number
}

const USER_HZ = 100

export function processUsage(pid: number): ProcessUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may itself contain spaces and parentheses.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0)
  return { cpuSeconds: (utime + stime) / USER_HZ, rssBytes: rssKb * 1024 }
}

/** Sample a process every second for `seconds`: CPU share of one core over the window and peak RSS. */
export async function measure(
  pid: number,
  seconds: number,
  onTick: () => void = () => undefined,
): Promise<{ cpuPercent: number; peakRssBytes: number }> {
  const start = processUsage(pid)
  const t0 = performance.now()
  let peak = start.rssBytes
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000))
    onTick()
    peak = Math.max(peak, processUsage(pid).rssBytes)
  }
  const end = processUsage(pid)
  const elapsed = (performance.now() - t0) / 1000
  return { cpuPercent: ((end.cpuSeconds - start.cpuSeconds) / elapsed) * 100, peakRssBytes: peak }
}
