import { createHash } from 'node:crypto'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ServiceError, errorMessage } from '#platform/errors.ts'
import { probeCommand } from './service-process.ts'

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const KAFKA_POM = join(REPO_ROOT, 'deploy/kafka/pom.xml')
export const KAFKA_LOG4J2_CONFIG = join(REPO_ROOT, 'deploy/kafka/log4j2.xml')
const MARKER = '.complete'
// Maven colours its [ERROR] lines even with -B on some setups; the codes would garble our message.
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g')

/** The broker version, read from the POM so that file stays the one place it is chosen. */
export function kafkaVersion(): string {
  const match = /<kafka\.version>\s*([^<\s]+)\s*<\/kafka\.version>/.exec(readFileSync(KAFKA_POM, 'utf8'))
  if (match?.[1] === undefined)
    throw new ServiceError('KAFKA_POM_INVALID', `no <kafka.version> in ${KAFKA_POM}`)
  return match[1]
}

function runMaven(
  args: readonly string[],
  logFile: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const chunks: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => chunks.push(c))
    child.stderr.on('data', (c: Buffer) => chunks.push(c))
    child.once('error', reject)
    child.once('close', (code) => {
      const output = Buffer.concat(chunks).toString('utf8').replace(ANSI_COLOUR, '')
      writeFile(logFile, output).then(
        () => {
          resolve({ code, output })
        },
        () => {
          resolve({ code, output })
        },
      )
    })
  })
}

/**
 * Makes sure the Kafka broker's jars are in `<cacheDir>/kafka/<version>/libs` and returns that folder.
 * Maven runs only when the folder lacks its completion marker (or the POM changed since): jars are
 * copied into a staging folder that is renamed into place after the marker is written, so an
 * interrupted copy is never mistaken for a complete one.
 */
export async function ensureKafkaJars(
  opts: { cacheDir?: string; log?: (line: string) => void } = {},
): Promise<string> {
  const log = opts.log ?? (() => undefined)
  const version = kafkaVersion()
  const pomHash = createHash('sha256')
    .update(await readFile(KAFKA_POM))
    .digest('hex')
  const versionDir = join(opts.cacheDir ?? join(REPO_ROOT, '.cache'), 'kafka', version)
  const libs = join(versionDir, 'libs')
  const isComplete = async (dir: string): Promise<boolean> =>
    existsSync(join(dir, MARKER)) && (await readFile(join(dir, MARKER), 'utf8')).trim() === pomHash

  if (await isComplete(libs)) return libs

  if ((await probeCommand('mvn', ['-v'])) === null) {
    throw new ServiceError(
      'KAFKA_MVN_MISSING',
      'mvn not found on PATH: install Maven (apt-get install -y maven) so the Kafka broker jars can be fetched',
    )
  }
  await mkdir(versionDir, { recursive: true })
  const staging = join(versionDir, `libs.staging-${process.pid}-${Date.now()}`)
  const mvnLog = join(versionDir, 'mvn.log')
  log(`fetching Kafka ${version} jars from Maven Central into ${libs} (first run only)`)
  const started = Date.now()
  try {
    const { code, output } = await runMaven(
      [
        '-q',
        '-B',
        '-Dstyle.color=never',
        '-f',
        KAFKA_POM,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${staging}`,
        '-DincludeScope=runtime',
      ],
      mvnLog,
    )
    if (code !== 0) {
      const firstError =
        output.split('\n').find((l) => l.includes('[ERROR]')) ?? output.trim().split('\n').at(-1) ?? ''
      throw new ServiceError(
        'KAFKA_JARS_FETCH_FAILED',
        `Maven could not fetch the Kafka ${version} jars (offline or Maven Central unreachable?): ${firstError.replace('[ERROR]', '').trim().slice(0, 300)}; full output in ${mvnLog}`,
        { retryable: true },
      )
    }
    if (!existsSync(join(staging, `kafka_2.13-${version}.jar`))) {
      throw new ServiceError(
        'KAFKA_JARS_FETCH_FAILED',
        `Maven finished but kafka_2.13-${version}.jar is missing from ${staging}`,
      )
    }
    await writeFile(join(staging, MARKER), `${pomHash}\n`)
    if (!(await isComplete(libs))) await rm(libs, { recursive: true, force: true })
    try {
      await rename(staging, libs)
    } catch (err) {
      // Another process finished the same fetch first; its copy is as good as ours.
      if (!(await isComplete(libs))) throw err
    }
  } catch (err) {
    if (err instanceof ServiceError) throw err
    throw new ServiceError(
      'KAFKA_JARS_FETCH_FAILED',
      `could not prepare the Kafka ${version} jars: ${errorMessage(err)}`,
      {
        cause: err,
      },
    )
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
  log(`Kafka ${version} jars ready in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return libs
}
