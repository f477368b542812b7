import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { ConfigReader } from '../platform/config.ts'
import { startKafka, type LocalKafka } from '../deploy/local/kafka.ts'
import { startNats, type LocalNats } from '../deploy/local/nats.ts'
import { findFreePortPair } from '../deploy/local/ports.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port list of the Kafka brokers the integration tests use. */
    kafkaBrokers: string[]
    /** nats:// URL of the NATS server (JetStream enabled) the integration tests use. */
    natsUrl: string
  }
}

/**
 * Integration-test services: the KAFKA_BROKERS / NATS_URL the environment names, or else a throwaway
 * Kafka and NATS on ports free right now (never 9092/4222, so a running `npm start` is left alone) in
 * a fresh temp folder. A service that cannot start fails the whole run with its own message.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const r = new ConfigReader()
  const envBrokers = r.hostPorts('KAFKA_BROKERS')
  const envNats = r.url('NATS_URL', ['nats:', 'tls:'])
  r.done({})

  const log = (line: string): void => {
    console.log(`[global-setup] ${line}`)
  }
  const stops: (() => Promise<void>)[] = []
  let dir: string | undefined
  const teardown = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      await stop().catch((err: unknown) => {
        console.error('[global-setup]', err)
      })
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  }

  try {
    if (envBrokers === undefined || envNats === undefined) {
      dir = await mkdtemp(join(tmpdir(), 'procstream-it-'))
    }

    let brokers: string[]
    if (envBrokers !== undefined) {
      brokers = envBrokers
      log(`Kafka: using KAFKA_BROKERS=${brokers.join(',')}`)
    } else {
      const [port, controllerPort] = await findFreePortPair()
      const kafka: LocalKafka = await startKafka({
        dataDir: join(dir ?? tmpdir(), 'kafka'),
        port,
        controllerPort,
        partitions: 3,
        log,
      })
      stops.push(() => kafka.stop())
      brokers = kafka.brokers
    }

    let natsUrl: string
    if (envNats !== undefined) {
      natsUrl = envNats
      log(`NATS: using NATS_URL=${natsUrl}`)
    } else {
      const [port, monitorPort] = await findFreePortPair()
      const nats: LocalNats = await startNats({
        dataDir: join(dir ?? tmpdir(), 'nats'),
        port,
        monitorPort,
        log,
      })
      stops.push(() => nats.stop())
      natsUrl = nats.url
    }

    // Workers are forked from this process after global setup, so they inherit these.
    process.env.KAFKA_BROKERS = brokers.join(',')
    process.env.NATS_URL = natsUrl
    project.provide('kafkaBrokers', brokers)
    project.provide('natsUrl', natsUrl)
  } catch (err) {
    await teardown()
    throw err
  }
  return teardown
}
