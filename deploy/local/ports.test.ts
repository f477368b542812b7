import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ServiceError } from '#platform/errors.ts'
import { assertPortFree, findFreePortPair, findFreePorts } from './ports.ts'

describe('ports', () => {
  let server: Server | undefined

  afterEach(async () => {
    await new Promise<void>((resolve) => {
      if (server === undefined) resolve()
      else
        server.close(() => {
          resolve()
        })
    })
    server = undefined
  })

  it('finds distinct ports that can then be bound', async () => {
    const ports = await findFreePorts(4)
    expect(new Set(ports).size).toBe(4)
    for (const p of ports) await expect(assertPortFree(p, 'test', 'TEST_PORT')).resolves.toBeUndefined()
    const [a, b] = await findFreePortPair()
    expect(a).not.toBe(b)
  })

  it('names the port and the service when it is taken', async () => {
    const [port] = await findFreePortPair()
    server = createServer()
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve))
    const err: unknown = await assertPortFree(port, 'Kafka broker', 'KAFKA_PORT_IN_USE').catch(
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ServiceError)
    expect((err as ServiceError).code).toBe('KAFKA_PORT_IN_USE')
    expect((err as ServiceError).message).toContain(
      `Kafka broker port ${port} on 127.0.0.1 is already in use`,
    )
  })

  it('sees a wildcard listener as taking the loopback port too', async () => {
    const [port] = await findFreePortPair()
    server = createServer()
    await new Promise<void>((resolve) => server?.listen(port, '0.0.0.0', resolve))
    await expect(assertPortFree(port, 'NATS client', 'NATS_PORT_IN_USE')).rejects.toThrow(/already in use/)
  })
})
