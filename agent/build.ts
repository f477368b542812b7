/**
 * `npm run build:agent`: the agent as one ESM file for hosts, dist/agent/agent.mjs, run with plain
 * `node` (no TypeScript loader at run time: measured ~25 MB less resident memory and no esbuild
 * service process next to the agent). The Avro schemas go beside it in dist/avro, where the codec
 * looks for them relative to its own file.
 */
import { cpSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('../', import.meta.url))

/**
 * How every shipped launch runs the bundle (deploy/systemd, deploy/docker/entrypoint.sh; a test keeps
 * them equal to these): a 1 MB young generation, garbage collection on the main thread and one V8
 * worker, one malloc arena and one libuv worker. Measured at 10 Hz (bench/agent-floor.ts): 69 → 59 MB
 * resident with the ASCII bundle below, at the same CPU (2.3–2.6 % of a core). `--lite-mode` would
 * save 5 MB more but costs +30 % CPU, so it is left out.
 */
export const AGENT_NODE_FLAGS = [
  '--max-semi-space-size=1',
  '--single-threaded-gc',
  '--v8-pool-size=1',
] as const
export const AGENT_ENV = { MALLOC_ARENA_MAX: '1', UV_THREADPOOL_SIZE: '1' } as const
const out = `${root}dist/`

export async function buildAgent(outDir: string = out): Promise<string> {
  rmSync(`${outDir}agent`, { recursive: true, force: true })
  const outfile = `${outDir}agent/agent.mjs`
  await build({
    entryPoints: [`${root}agent/src/main.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    // One non-ASCII character (an arrow in a comment) made V8 keep the whole 1.7 MB source as
    // two-byte text, 3.4 MB of an 11 MB heap; ASCII output without comments or indentation is
    // 0.8 MB. Names are kept, so stack traces stay readable.
    charset: 'ascii',
    minifyWhitespace: true,
    logLevel: 'warning',
    // kafkajs, pino and avsc are CommonJS and call require(); an ESM bundle has to provide it.
    banner: {
      js: "import { createRequire as __procstreamRequire } from 'node:module'; const require = __procstreamRequire(import.meta.url);",
    },
  })
  cpSync(`${root}schemas/avro`, `${outDir}avro`, { recursive: true })
  return outfile
}

if (import.meta.url === new URL(`file://${process.argv[1] ?? ''}`).href) {
  process.stdout.write(`${await buildAgent()}\n`)
}
