import { resolve } from 'node:path'
import type { NatsClientConfig } from '#platform/nats-client.ts'
import { ensureKafkaJars, startKafka, type LocalKafka } from '../deploy/local/kafka.ts'
import { startNats, type LocalNats } from '../deploy/local/nats.ts'

export interface Services {
  brokers: string[]
  natsClient: NatsClientConfig
  /** Undefined when NATS is external: then there is no server whose users `npm start` manages. */
  localNats: LocalNats | undefined
}

/**
 * Kafka and NATS: the ones the environment names, or else the dev services of deploy/local/ started
 * in the data folder. Each one started is stopped through `stops`.
 */
export async function startServices(o: {
  dataDir: string
  externalBrokers: string[] | undefined
  externalNats: NatsClientConfig | undefined
  partitions: number
  stops: (() => Promise<void>)[]
  say: (line: string) => void
}): Promise<Services> {
  const { dataDir, stops, say } = o
  const log = (line: string): void => {
    say(`  ${line}`)
  }

  let brokers: string[]
  if (o.externalBrokers) {
    brokers = o.externalBrokers
    say(`Kafka: using ${brokers.join(',')}`)
  } else {
    say('Kafka: preparing the broker (first run downloads its jars with Maven)…')
    await ensureKafkaJars({ log })
    const kafka: LocalKafka = await startKafka({
      dataDir: resolve(dataDir, 'kafka'),
      partitions: o.partitions,
      log,
    })
    stops.push(() => kafka.stop())
    brokers = kafka.brokers
    say(`Kafka: broker up at ${brokers.join(',')} (log: ${kafka.logFile})`)
  }

  let natsClient: NatsClientConfig
  let localNats: LocalNats | undefined
  if (o.externalNats) {
    natsClient = o.externalNats
  } else {
    // Tenants are added once the key store can be read (nats-users.ts); until then only the service user.
    localNats = await startNats({ dataDir: resolve(dataDir, 'nats'), log })
    const nats = localNats
    stops.push(() => nats.stop())
    natsClient = { url: nats.url, ...nats.credential, tenant: undefined }
    say(`NATS: up at ${nats.url}, users and passwords required (log: ${nats.logFile})`)
  }
  return { brokers, natsClient, localNats }
}
