import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@clickhouse/client'
import type { FastifyInstance } from 'fastify'
import { CompressionTypes, type Producer } from 'kafkajs'
import { afterAll, describe, expect, it } from 'vitest'
import { KafkaWriter } from '../../ingest/src/kafka-writer.ts'
import { buildIngestGateway } from '../../ingest/src/server.ts'
import { ControlRelay } from '../../ingest/src/control-relay.ts'
import { buildQueryApi } from '../../query-api/src/server.ts'
import { AdmissionRule } from '#schemas/src/admission.ts'
import { envelopeCodec } from '#schemas/src/codec.ts'
import { caught } from '../support/caught.ts'
import { memoryKeys } from '../support/keys.ts'
import { ConfigReader } from '#platform/config.ts'
import { createLogger } from '#platform/logger.ts'
import { readTlsFiles } from '#platform/tls.ts'

const dir = mkdtempSync(join(tmpdir(), 'procstream-tls-'))
const certFile = join(dir, 'cert.pem')
const keyFile = join(dir, 'key.pem')
// A self-signed certificate for 127.0.0.1, as an operator would make one for a test installation.
execFileSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=procstream-test',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ],
  { stdio: 'ignore' },
)
const logger = createLogger('tls-test', { level: 'silent' })
const apps: FastifyInstance[] = []

afterAll(async () => {
  for (const app of apps) await app.close()
  rmSync(dir, { recursive: true, force: true })
})

function tls(env: Record<string, string>) {
  const r = new ConfigReader(env)
  const files = readTlsFiles(r)
  return r.done({ files }).files
}

/** GET over HTTPS trusting only the test certificate. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: tls({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile })?.cert, headers },
      (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body })
        })
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('HTTPS', () => {
  it('is served by the query API and the ingest gateway when given certificate and key files', async () => {
    const files = tls({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile })
    const { auth, keys } = await memoryKeys([{ tenant: 'acme', scopes: ['read'] }])
    const api = await buildQueryApi({
      clickhouse: createClient({ url: 'http://127.0.0.1:9' }),
      database: 'db',
      keys: auth,
      readiness: [],
      logger,
      maxPoints: 100,
      tls: files,
    })
    apps.push(api)
    const apiUrl = await api.listen({ host: '127.0.0.1', port: 0 })
    expect(apiUrl).toMatch(/^https:/)
    expect(await get(`${apiUrl}/api/whoami`, { authorization: `Bearer ${keys[0] ?? ''}` })).toMatchObject({
      status: 200,
      body: expect.stringContaining('"tenant":"acme"') as unknown,
    })

    const gateway = buildIngestGateway({
      auth,
      codec: envelopeCodec(),
      // Never reached: the request below is refused before anything is produced.
      writer: new KafkaWriter(() => ({}) as Producer, 1, 't', {
        maxSendBytes: 1 << 20,
        compression: CompressionTypes.None,
        logger,
      }),
      logger,
      readiness: [],
      limits: { requestsPerS: 10, recordsPerS: 10, burstS: 1 },
      maxBodyBytes: 1024,
      maxDecodedBytes: 1024,
      maxMessageBytes: 1024,
      admission: new AdmissionRule(envelopeCodec().readerType, { maxAgeMs: 60_000, maxLeadMs: 60_000 }),
      maxQueuedBytes: 1024,
      control: new ControlRelay(
        { waitMs: 1000, replyWaitMs: 1000, maxPolls: 1, tenantMaxPolls: 1 },
        logger,
        false,
      ),
      tls: files,
    })
    apps.push(gateway)
    const gatewayUrl = await gateway.listen({ host: '127.0.0.1', port: 0 })
    expect(await get(`${gatewayUrl}/healthz`)).toEqual({ status: 200, body: '{"status":"ok"}' })
    // Plain HTTP to the TLS port gets nowhere.
    await expect(fetch(gatewayUrl.replace('https:', 'http:') + '/healthz')).rejects.toThrow()
  })

  it('needs both files, readable and PEM, and says which is wrong', () => {
    expect(tls({})).toBeUndefined()
    expect(caught(() => tls({ TLS_CERT_FILE: certFile })).message).toContain(
      'TLS_CERT_FILE and TLS_KEY_FILE go together',
    )
    const notPem = join(dir, 'not.pem')
    writeFileSync(notPem, 'hello')
    const err = caught(() => tls({ TLS_CERT_FILE: notPem, TLS_KEY_FILE: join(dir, 'missing.pem') }))
    expect(err.message).toContain(`TLS_CERT_FILE=${notPem} is not a PEM file`)
    expect(err.message).toContain(`TLS_KEY_FILE=${join(dir, 'missing.pem')} cannot be read`)
  })
})
