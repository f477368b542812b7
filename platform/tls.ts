import { readFileSync } from 'node:fs'
import type { ConfigReader } from './config.ts'

export interface TlsFiles {
  cert: Buffer
  key: Buffer
}

/**
 * HTTPS for a service when TLS_CERT_FILE and TLS_KEY_FILE (PEM) are both set; plain HTTP when neither
 * is. Files are read once at start-up, so a missing or unreadable one stops the service with a clear
 * message rather than at the first connection.
 */
export function readTlsFiles(r: ConfigReader): TlsFiles | undefined {
  const certFile = r.string('TLS_CERT_FILE')
  const keyFile = r.string('TLS_KEY_FILE')
  if (certFile === undefined && keyFile === undefined) return undefined
  if (certFile === undefined || keyFile === undefined) {
    r.problem('TLS_CERT_FILE and TLS_KEY_FILE go together: set both for HTTPS, or neither for HTTP')
    return undefined
  }
  const read = (name: string, file: string): Buffer | undefined => {
    try {
      const pem = readFileSync(file)
      if (!pem.includes('-----BEGIN ')) r.problem(`${name}=${file} is not a PEM file`)
      return pem
    } catch (err) {
      r.problem(`${name}=${file} cannot be read: ${(err as Error).message}`)
      return undefined
    }
  }
  const cert = read('TLS_CERT_FILE', certFile)
  const key = read('TLS_KEY_FILE', keyFile)
  return cert && key ? { cert, key } : undefined
}
