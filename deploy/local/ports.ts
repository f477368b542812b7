import { createServer } from 'node:net'
import { ServiceError } from '#platform/errors.ts'

const HOST = '127.0.0.1'

function tryListen(port: number): Promise<number | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err)
    })
    server.listen({ host: HOST, port, exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : port
      server.close(() => {
        resolve(bound)
      })
    })
  })
}

/**
 * Throws a one-line ServiceError when `port` cannot be bound on 127.0.0.1, so a clash shows up before
 * a child process is started rather than as a broker dying deep in its own log.
 */
export async function assertPortFree(port: number, what: string, code: string): Promise<void> {
  const result = await tryListen(port)
  if (typeof result === 'number') return
  if (result.code === 'EADDRINUSE') {
    throw new ServiceError(
      code,
      `${what} port ${port} on ${HOST} is already in use (another instance or \`npm start\` running?); free it or pick another port`,
    )
  }
  throw new ServiceError(code, `${what} port ${port} on ${HOST} cannot be bound: ${result.message}`, {
    cause: result,
  })
}

/**
 * Ports the kernel reports free right now, all distinct. Another process may still take one before
 * it is used; callers re-check with assertPortFree when they start the service.
 */
export async function findFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) {
    const result = await tryListen(0)
    if (typeof result !== 'number') throw result
    ports.add(result)
  }
  return [...ports]
}

/** Two distinct free ports, e.g. a service's client and control/monitoring ports. */
export async function findFreePortPair(): Promise<[number, number]> {
  const [a, b] = await findFreePorts(2)
  if (a === undefined || b === undefined) throw new Error('findFreePorts(2) returned fewer than two ports')
  return [a, b]
}
