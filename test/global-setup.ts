import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { ConfigReader } from '#platform/config.ts'
import { natsSecretProblem } from '#platform/nats-auth.ts'
import { readNatsClient } from '#platform/nats-client.ts'
import { startKafka, type LocalKafka } from '../deploy/local/kafka.ts'
import { startNats, type LocalNats } from '../deploy/local/nats.ts'
import { findFreePortPair } from '../deploy/local/ports.ts'
import { TEST_NATS_TENANTS } from './support/nats.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port list of the Kafka brokers the integration tests use. */
    kafkaBrokers: string[]
    /**
     * The NATS server (JetStream enabled) the integration tests use, which requires a user and
     * password: the service credential, and the installation secret tenant credentials derive from
     * (undefined for an external server started without NATS_TEST_SECRET_FILE).
     */
    nats: { url: string; user: string; password: string; secret: string | undefined }
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
  const envNats = readNatsClient(r, 'service')
  const envSecretFile = r.string('NATS_TEST_SECRET_FILE')
  let envSecret: string | undefined
  if (envSecretFile !== undefined) {
    try {
      envSecret = readFileSync(envSecretFile, 'utf8').trim()
      const problem = natsSecretProblem(`NATS_TEST_SECRET_FILE=${envSecretFile}`, envSecret)
      if (problem !== undefined) r.problem(problem)
    } catch (err) {
      r.problem(`NATS_TEST_SECRET_FILE=${envSecretFile} cannot be read: ${(err as Error).message}`)
    }
  }
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

    let nats: { url: string; user: string; password: string; secret: string | undefined }
    if (envNats !== undefined) {
      nats = { url: envNats.url, user: envNats.user, password: envNats.password, secret: envSecret }
      log(`NATS: using NATS_URL=${nats.url} as ${nats.user}`)
    } else {
      const [port, monitorPort] = await findFreePortPair()
      const local: LocalNats = await startNats({
        dataDir: join(dir ?? tmpdir(), 'nats'),
        port,
        monitorPort,
        tenants: TEST_NATS_TENANTS,
        log,
      })
      stops.push(() => local.stop())
      nats = { url: local.url, ...local.credential, secret: local.secret }
    }

    // Workers are forked from this process after global setup, so they inherit these. NATS is not
    // among them: agents the tests start would take the service credential and refuse it, so a
    // test that wants NATS asks for it (test/support/nats.ts).
    process.env.KAFKA_BROKERS = brokers.join(',')
    delete process.env.NATS_URL
    delete process.env.NATS_USER
    delete process.env.NATS_PASSWORD
    delete process.env.NATS_PASSWORD_FILE
    delete process.env.NATS_CREDENTIALS_FILE
    project.provide('kafkaBrokers', brokers)
    project.provide('nats', nats)
  } catch (err) {
    await teardown()
    throw err
  }
  return teardown
}
