import { memoryUsage } from 'node:process'
import type { AgentSample } from '#schemas/src/records.ts'
import type { SamplerStats } from './sampler.ts'
import type { SinkStats } from './sink/spooling-sink.ts'

/** What the agent's health is read from; each part is optional so `--once` and tests can leave some out. */
export interface SelfMetricsSources {
  sampler: () => SamplerStats
  ticks: () => { late: number; missed: number }
  sink?: () => SinkStats
}

/**
 * The agent's own health as an `agent` family record. Collection time is accumulated here by whoever
 * runs a collection (`timeCollection`), so the cost of sampling is visible on every host in production
 * and not only in a benchmark.
 */
export class SelfMetrics {
  readonly startTimeUs: number
  private collectNs = 0n

  constructor(
    private readonly sources: SelfMetricsSources,
    nowMs: number = Date.now(),
  ) {
    this.startTimeUs = Math.round(nowMs * 1000)
  }

  /** Runs one collection, adding its wall time to collect_seconds. */
  timeCollection<T>(collect: () => T): T {
    const t0 = process.hrtime.bigint()
    try {
      return collect()
    } finally {
      this.collectNs += process.hrtime.bigint() - t0
    }
  }

  sample(): AgentSample {
    const sampler = this.sources.sampler()
    const ticks = this.sources.ticks()
    const sink = this.sources.sink?.()
    // Counted from process start, as process_cpu_seconds_total is, so start-up cost shows too.
    const cpu = process.cpuUsage()
    return {
      start_time_us: this.startTimeUs,
      samples: sampler.samples,
      collect_seconds: Number(this.collectNs) / 1e9,
      ticks_late: ticks.late,
      ticks_missed: ticks.missed,
      parse_errors: { ...sampler.parseErrorsByFamily },
      read_errors: { ...sampler.readErrorsByFamily },
      records_sent: sink?.sentRecords ?? 0,
      messages_sent: sink?.sentMessages ?? 0,
      bytes_sent: sink?.sentBytes ?? 0,
      send_errors: sink?.sendErrors ?? 0,
      queued_records: sink?.queuedRecords ?? 0,
      queued_bytes: sink?.queuedBytes ?? 0,
      spool_records: sink?.spooledRecords ?? 0,
      spool_bytes: sink?.spooledBytes ?? 0,
      dropped_records: sink?.droppedRecords ?? 0,
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      resident_memory_bytes: memoryUsage.rss(),
    }
  }
}
