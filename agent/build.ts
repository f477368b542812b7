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
