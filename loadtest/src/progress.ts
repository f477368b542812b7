/**
 * A one-line progress bar on stderr: on a terminal redrawn in place every second, otherwise (CI logs)
 * a line every ten seconds.
 */
export interface ProgressState {
  elapsedS: number
  producedValues: number
  storedValues: number
  lag: number
  freshnessP99Ms: number
  draining: boolean
}

const WIDTH = 24

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}K`
  return String(Math.round(n))
}

export class Progress {
  private readonly tty = process.stderr.isTTY
  private lastPrint = 0

  constructor(private readonly durationS: number) {}

  update(s: ProgressState): void {
    const share = Math.min(1, s.elapsedS / this.durationS)
    const filled = Math.round(share * WIDTH)
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`
    const line = `${bar} ${s.draining ? 'draining' : `${String(Math.round(share * 100))}%`} ${String(Math.round(s.elapsedS))}/${String(this.durationS)} s  produced ${compact(s.producedValues)} values  stored ${compact(s.storedValues)}  lag ${String(s.lag)}  freshness p99 ${String(Math.round(s.freshnessP99Ms))} ms`
    if (this.tty) process.stderr.write(`\r${line}\u001b[K`)
    else if (s.elapsedS - this.lastPrint >= 10) {
      this.lastPrint = s.elapsedS
      process.stderr.write(`${line}\n`)
    }
  }

  finish(): void {
    if (this.tty) process.stderr.write('\n')
  }
}
