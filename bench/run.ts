/**
 * `npm run bench`: measurements printed as a table (and JSON with --json), never pass/fail.
 */
import { cpus } from 'node:os'
import { benchAgentSnapshot } from './agent-snapshot.ts'

const json = process.argv.includes('--json')
const results = benchAgentSnapshot()
if (json) {
  process.stdout.write(
    `${JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model }, results }, null, 2)}\n`,
  )
} else {
  process.stdout.write(
    `agent collection cost on this host (${cpus().length} × ${cpus()[0]?.model ?? 'cpu'})\n`,
  )
  process.stdout.write(`${'what'.padEnd(50)} ${'median µs'.padStart(10)} ${'p99 µs'.padStart(10)}\n`)
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(50)} ${r.medianUs.toFixed(1).padStart(10)} ${r.p99Us.toFixed(1).padStart(10)}\n`,
    )
  }
}
