/**
 * The NATS subjects of live agent control, shared by everything that listens on them: the agent on
 * NATS (agent/src/control.ts) and the ingest gateway on behalf of an agent that long-polls it
 * (ingest/src/control-relay.ts). Both must turn a host id or group into the very same subject, or a
 * request would reach an agent on one path and miss it on the other.
 *
 *   procstream.control.<tenant>.host.<host_id>
 *   procstream.control.<tenant>.group.<group>
 *   procstream.control.<tenant>.all
 */

export const CONTROL_SUBJECT_PREFIX = 'procstream.control'

/** NATS subject tokens cannot hold '.', whitespace, '*' or '>'. */
export function subjectToken(s: string): string {
  return s.replace(/[.\s*>]/g, '_') || '_'
}

export function controlSubjects(tenant: string, hostId: string, groups: readonly string[]): string[] {
  const base = `${CONTROL_SUBJECT_PREFIX}.${subjectToken(tenant)}`
  return [
    `${base}.host.${subjectToken(hostId)}`,
    ...groups.map((g) => `${base}.group.${subjectToken(g)}`),
    `${base}.all`,
  ]
}

/** Whom one control request is for: a host id, a group, or every agent of the tenant. */
export type ControlTarget = { host: string } | { group: string } | { all: true }

/**
 * The one subject a request to `target` goes to, under `tenant`: the very subject controlSubjects
 * gives an agent of that host or group, and no other (each part escaped, so a name cannot add a token).
 */
export function controlTargetSubject(tenant: string, target: ControlTarget): string {
  const base = `${CONTROL_SUBJECT_PREFIX}.${subjectToken(tenant)}`
  if ('host' in target) return `${base}.host.${subjectToken(target.host)}`
  if ('group' in target) return `${base}.group.${subjectToken(target.group)}`
  return `${base}.all`
}

/** Machine ids are 32 characters and DNS names at most 253; anything longer is not a host id. */
export const MAX_CONTROL_HOST_LENGTH = 253
export const MAX_CONTROL_GROUP_LENGTH = 64
/** Each group is one more subscription held for the whole of a poll at the gateway. */
export const MAX_CONTROL_GROUPS = 16
/**
 * Printable ASCII without space or comma. Everything in it is made subject-safe by subjectToken;
 * control characters and non-ASCII are refused rather than mapped, so no two very different names
 * end up on one subject, and a comma would split a group list.
 */
const TARGET = /^[\x21-\x2b\x2d-\x7e]+$/

/**
 * Why a host id or group cannot be polled for through the gateway, or undefined when it can. The
 * gateway answers 400 with this text; the agent checks its own names first and does not poll at all
 * with one the gateway would refuse.
 */
export function controlTargetProblem(kind: 'host' | 'group', value: string): string | undefined {
  const max = kind === 'host' ? MAX_CONTROL_HOST_LENGTH : MAX_CONTROL_GROUP_LENGTH
  if (value.length === 0) return `${kind} must not be empty`
  if (value.length > max)
    return `${kind} is ${String(value.length)} characters long; at most ${String(max)} are accepted`
  if (!TARGET.test(value))
    return `${kind} ${JSON.stringify(value)} must be printable ASCII without spaces or commas`
  return undefined
}

/** Every problem of a host id and group list, in one message; undefined when all are fine. */
export function controlTargetsProblem(host: string, groups: readonly string[]): string | undefined {
  const problems: string[] = []
  const hostProblem = controlTargetProblem('host', host)
  if (hostProblem !== undefined) problems.push(hostProblem)
  if (groups.length > MAX_CONTROL_GROUPS)
    problems.push(`${String(groups.length)} groups given; at most ${String(MAX_CONTROL_GROUPS)} are accepted`)
  else
    for (const g of groups) {
      const p = controlTargetProblem('group', g)
      if (p !== undefined) problems.push(p)
    }
  return problems.length === 0 ? undefined : problems.join('; ')
}
