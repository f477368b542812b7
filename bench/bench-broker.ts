import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureKafkaJars, ensureTopics, startKafka } from '../deploy/local/kafka.ts'
import { findFreePortPair } from '../deploy/local/ports.ts'

export interface BenchBroker {
  /** A temporary folder for the run's data (ClickHouse, …); removed afterwards. */
  dir: string
  brokers: string[]
  /** The broker's process, for benches that count its CPU and memory. */
  pid: number
  /** `bench-<name>`, created with the partitions asked for. */
  topic: string
}

/** A fresh broker on free ports with one topic, for the length of `run`; then stopped and deleted. */
export async function withBenchBroker<T>(
  name: string,
  partitions: number,
  run: (broker: BenchBroker) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `procstream-bench-${name}-`))
  try {
    await ensureKafkaJars()
    const [port, controllerPort] = await findFreePortPair()
    const kafka = await startKafka({ dataDir: join(dir, 'kafka'), port, controllerPort, partitions })
    try {
      const topic = `bench-${name}`
      await ensureTopics(kafka.brokers, [{ name: topic, partitions }])
      return await run({ dir, brokers: kafka.brokers, pid: kafka.pid, topic })
    } finally {
      await kafka.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
