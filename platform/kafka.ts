import { Kafka, logLevel, type LogEntry, type logCreator, type SASLOptions } from 'kafkajs'
import { applyKafkajsIdleLoopFix } from './kafkajs-idle-loop-fix.ts'
import type { KafkaSecurity } from './kafka-security.ts'
import type { Logger } from './logger.ts'

/** kafkajs logs through the component's pino logger instead of its own console format. */
function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...extra } = log
      const child = { kafkajs: true, ...extra }
      if (level === logLevel.ERROR) logger.error(child, message)
      else if (level === logLevel.WARN) logger.warn(child, message)
      else if (level === logLevel.INFO) logger.debug(child, message)
      else logger.trace(child, message)
    }
}

export function createKafka(
  brokers: string[],
  clientId: string,
  logger: Logger,
  security: KafkaSecurity = {},
): Kafka {
  applyKafkajsIdleLoopFix()
  return new Kafka({
    clientId,
    brokers,
    // A copy: kafkajs writes its authentication provider into the object it is given. The cast: it
    // types the mechanisms as a discriminated union that a validated string cannot narrow to.
    ...(security.sasl && { sasl: { ...security.sasl } as SASLOptions }),
    ...(security.ssl && { ssl: security.ssl }),
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger),
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
    connectionTimeout: 3_000,
  })
}
