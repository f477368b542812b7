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
 * The real agent process with every collector at 10 Hz (about 1 MB of records a second, so a spool
 * drains in requests as large as the agent makes them), sending to the testbed's gateway with a new
 * ingest key of `tenant` (from a 0600 key file in `dir`), spooling to `dir`/spool; resolves once its
 * first records are in the topic. `extraArgs` go after the standard ones (e.g. `--tenant intruder`),
 * `env` over the test's environment.
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

/**
 * The records that reached the topic after a newer one of the same agent, as `agent seq after seq`
 * (the first 20, then how many more): the processor's sequence guard would drop them as resends.
 * With `repeats`, a record whose seq was already there is such a resend (a request whose
 * acknowledgement was lost) and not listed. Empty when every agent's records rise strictly in topic
 * order.
 */
export function outOfOrder(
  envelopes: readonly { agent_id: string; seq: number }[],
  o: { repeats?: boolean } = {},
): string[] {
  const highest = new Map<string, number>()
  const seen = new Set<string>()
  const late: string[] = []
  for (const e of envelopes) {
    const top = highest.get(e.agent_id)
    const id = `${e.agent_id} ${String(e.seq)}`
    if (top !== undefined && e.seq <= top && !(o.repeats === true && seen.has(id)))
      late.push(`${id} after ${String(top)}`)
    if (top === undefined || e.seq > top) highest.set(e.agent_id, e.seq)
    seen.add(id)
  }
  return late.length > 20 ? [...late.slice(0, 20), `and ${String(late.length - 20)} more`] : late
}
