import { NODE_COLLECTORS } from '../../agent/src/collectors/node/index.ts'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { GatewayTestbed } from './gateway-testbed.ts'
import { NodeChild } from './node-child.ts'
import { topicEnd } from './topic.ts'
import { waitFor } from './wait-for.ts'

export interface GatewayAgent {
  agent: NodeChild
  spoolDir: string
}

/**
 * The real agent process at 10 Hz, sending to the testbed's gateway with a new ingest key of
 * `tenant` (from a 0600 key file in `dir`), spooling to `dir`/spool; resolves once its first records
 * are in the topic. `extraArgs` go after the standard ones (e.g. `--tenant intruder`), `env` over the
 * test's environment.
 */
export async function startGatewayAgent(
  bed: GatewayTestbed,
  o: { dir: string; hostId: string; tenant: string; extraArgs?: string[]; env?: NodeJS.ProcessEnv },
): Promise<GatewayAgent> {
  const keyFile = join(o.dir, 'agent.key')
  await writeFile(keyFile, `${await bed.key(o.tenant, ['ingest'])}\n`, { mode: 0o600 })
  const spoolDir = join(o.dir, 'spool')
  const agent = NodeChild.start(
    'agent/src/main.ts',
    [
      ...['--interval', '100', '--host-id', o.hostId, '--ingest', bed.gateway.url, '--key-file', keyFile],
      // The typed families at 10 Hz, the node_exporter collectors at 1 Hz: the record rate these
      // delivery tests were written for. Every collector at 10 Hz (4× the records) exposes a
      // reordering in the spooling sink under spill that is open (see agent/README.md, Delivery).
      ...['--family-intervals', NODE_COLLECTORS.map((c) => `${c.name}=1000`).join(',')],
      ...['--spool-dir', spoolDir, '--metrics-listen', 'off', ...(o.extraArgs ?? [])],
    ],
    // The suite's KAFKA_BROKERS would conflict with --ingest.
    { KAFKA_BROKERS: undefined, ...o.env },
  )
  await waitFor('the agent to deliver through the gateway', async () =>
    (await topicEnd(bed.brokers, bed.config.topic)) > 0 ? true : undefined,
  )
  return { agent, spoolDir }
}

/** Whether the agent's spool holds records on disk. */
export async function spoolHasSegments(spoolDir: string): Promise<boolean> {
  return (await readdir(spoolDir)).some((f) => f.endsWith('.seg'))
}
